"""Retention of platform objects, for adapters that can list and change them (``PlatformRetention``).

The protocol lives here, not in the shared platform protocols: an adapter opts in by implementing it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..errors import RuleError, UnsupportedOperation
from ..store import Store
from .rules import Rule


@runtime_checkable
class PlatformRetention(Protocol):
    def retention_kinds(self) -> Mapping[str, Collection[str]]:
        """Object kinds retention may change, each with the field names it may name (anchor, fields)."""

    def retention_scan(self, kind: str, *, anchor: str, before: datetime, after: str | None, limit: int,
                       action: str, fields: Sequence[str]) -> list[str]:
        """Ids of ``kind`` objects whose ``anchor`` is before ``before`` that the action would still change,
        in id order after ``after``."""

    def retention_apply(self, kind: str, ids: Sequence[str], *, before: datetime, anchor: str, action: str,
                        fields: Sequence[str], replace: Mapping[str, Any]) -> int:
        """Apply ``action`` (delete, redact, anonymise) to ``ids`` (re-checking the anchor); rows changed."""


class PlatformTarget:
    """A rule bound to platform objects through the adapter."""

    same_db = False

    def __init__(self, adapter: object, store: Store, rule: Rule) -> None:
        self.store, self.rule = store, rule
        if not isinstance(adapter, PlatformRetention):
            raise UnsupportedOperation(f"retention rule {rule.name!r}: the {getattr(adapter, 'name', '?')!r} "
                                       "platform adapter does not support retention of platform objects")
        if rule.action not in ("delete", "redact", "anonymise"):
            raise RuleError(rule.name, f"platform objects support delete, redact and anonymise, not {rule.action}")
        if rule.where or any(e.kind != "legal_hold" for e in rule.exempt):
            raise RuleError(rule.name, "platform rules take legal_hold exemptions only and no 'where'")
        assert rule.table is not None
        kinds = adapter.retention_kinds()
        if rule.table not in kinds:
            raise RuleError(rule.name, f"the adapter has no object kind {rule.table!r}")
        missing = sorted({rule.anchor, *rule.fields} - set(kinds[rule.table]))
        if missing:
            raise RuleError(rule.name, f"{rule.table!r} objects have no field(s) {', '.join(missing)}")
        self.adapter: PlatformRetention = adapter
        self.kind = rule.table

    def python_holds(self) -> bool:
        return any(e.kind == "legal_hold" for e in self.rule.exempt)

    def held_keys(self) -> set[str]:
        from sqlalchemy import select

        from .tables import legal_holds
        with self.store.begin(write=False) as conn:
            return set(conn.execute(select(legal_holds.c.row_key)
                                    .where(legal_holds.c.entity == self.rule.entity_name)).scalars())

    def next_batch(self, cutoff: datetime, after: Any, limit: int) -> list[Any]:
        return self.adapter.retention_scan(self.kind, anchor=self.rule.anchor, before=cutoff, after=after,
                                           limit=limit, action=self.rule.action,
                                           fields=self.rule.fields)

    def count(self, cutoff: datetime) -> tuple[int, int]:
        held = self.held_keys() if self.python_holds() else set()
        due = exempt = 0
        after = None
        while batch := self.next_batch(cutoff, after, self.rule.batch_size):
            n_held = sum(1 for k in batch if k in held)
            exempt, due, after = exempt + n_held, due + len(batch) - n_held, batch[-1]
        return due, exempt

    def apply(self, conn: Any, keys: Sequence[Any], cutoff: datetime, shred: Any) -> int:
        return self.adapter.retention_apply(self.kind, [str(k) for k in keys], before=cutoff, anchor=self.rule.anchor,
                                            action=self.rule.action, fields=self.rule.fields,
                                            replace=self.rule.replace)
