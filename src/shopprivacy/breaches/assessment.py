"""Who a breach affects, computed from what the SDK knows: the subjects with data in the in-scope stores, and
the subjects whose records the audit shows read or written in the window; for each, whether the data in scope
was intelligible (held in clear, or encrypted under keys that were compromised) and whether the SDK can reach
them. The result is stored by pseudonym with counts; no address or identifier is kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from ..errors import InvalidInput
from ..progress import Progress
from ..rights.sources import TableSource
from .inventory import EMAIL_STORE, Inventory, StoreInfo
from .model import Breach
from .tables import breach_subjects

if TYPE_CHECKING:
    from ..email.subjects import Subjects
    from ..keys import Keyring
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from .register import Register

#: Notice states an assessment may replace (of subjects never queued): the others, and every subject whose notice
#: was queued once, keep their state, so nobody is told twice.
REPLACEABLE = ("to_send", "not_needed", "unreachable")
_BATCH = 500


@dataclass
class Found:
    """A subject the breach reaches: through which stores, in clear or not, reachable by mail or not."""

    via: set[str] = field(default_factory=set)
    intelligible: bool = False
    reachable: bool = False


class Assessment:
    """Computes and stores the affected subjects of a breach (``breach assess``)."""

    def __init__(self, *, store: Store, audit: AuditLog, keyring: Keyring, subjects: Subjects,
                 inventory: Inventory, register: Register, clock: Callable[[], datetime]) -> None:
        self.store, self.audit, self.keyring, self.subjects = store, audit, keyring, subjects
        self.inventory, self.register, self.clock = inventory, register, clock

    def run(self, breach: Breach, *, actor: str, progress: Progress | None = None) -> dict[str, Any]:
        incident = breach.incident
        scope = incident.scope
        chosen = self.inventory.check(scope.stores, scope.fields)
        until = scope.window_end or incident.occurred_until or breach.aware_at
        found: dict[str, Found] = {}
        stores: dict[str, Any] = {}
        progress = progress or Progress("breach assess")
        with progress:
            for name, info in chosen.items():
                clear = any(not f.unintelligible(scope.keys_compromised) for f in info.fields)
                stores[name] = {"fields": [{"field": f.name, "protection": f.protection,
                                            "unintelligible": f.unintelligible(scope.keys_compromised)}
                                           for f in info.fields], "enumerable": info.enumerable,
                                "records": None, "subjects": 0}
                for subject, reachable in self._subjects_of(info, until, stores[name]):
                    entry = found.setdefault(subject, Found())
                    entry.via.add(name)
                    entry.intelligible |= clear
                    entry.reachable |= reachable
                    stores[name]["subjects"] += 1
                    progress.advance()
            audit = self._audit_window(found, chosen, scope, progress)
        counts = {"subjects": len(found), "intelligible": sum(f.intelligible for f in found.values()),
                  "reachable": sum(f.reachable for f in found.values())}
        counts["unintelligible"] = counts["subjects"] - counts["intelligible"]
        counts["to_notify"] = sum(f.intelligible and f.reachable for f in found.values())
        counts["unreachable"] = sum(f.intelligible and not f.reachable for f in found.values())
        result = {"computed_at": self.clock().isoformat(), "until": until.isoformat(), "stores": stores,
                  "audit": audit, "keys_compromised": scope.keys_compromised, "counts": counts}
        self._save(breach, found, result, _exemption(breach, chosen, counts), actor=actor)
        return result

    # -- sources of subjects ------------------------------------------------------------------------------
    def _subjects_of(self, info: StoreInfo, until: datetime, report: dict[str, Any]) -> Iterator[tuple[str, bool]]:
        if info.name == EMAIL_STORE:
            for batch in self.subjects.held(until=until):
                yield from batch
            report["records"] = report["subjects"]
            return
        source = info.source
        if not isinstance(source, TableSource):
            return  # a custom source cannot be listed: the report says so, the operator counts by hand
        col = source.table.c[source.subject_column]
        with source.engine.connect() as conn:
            report["records"] = int(conn.execute(select(func.count()).select_from(source.table)).scalar_one())
            values = [r[0] for r in conn.execute(select(col).distinct().where(col.is_not(None)))]
        for i in range(0, len(values), _BATCH):
            yield from self._identify(source, [str(v) for v in values[i:i + _BATCH]])

    def _identify(self, source: TableSource, values: list[str]) -> Iterator[tuple[str, bool]]:
        """(pseudonym, reachable) of subject-column values: e-mail addresses map to the SDK's e-mail subjects;
        customer ids to the addresses the SDK recorded for them; anything else gets a keyed pseudonym."""
        if source.match == "email" and not source.blind_indexed:
            for value in values:
                try:
                    yield self.subjects.subject_of(value), True
                except InvalidInput:
                    yield self._other(source, value), False
            return
        if source.match == "customer_id" and not source.blind_indexed:
            for value in values:
                linked = self.subjects.of_customer([value])
                if not linked:
                    yield self._other(source, value), False
                for sid, address in linked:
                    yield sid, address is not None
            return
        for value in values:
            yield self._other(source, value), False

    def _other(self, source: TableSource, value: str) -> str:
        return self.keyring.pseudonym(f"{source.name}\x00{value}", namespace="breach", length=24)

    def _audit_window(self, found: dict[str, Found], chosen: dict[str, StoreInfo], scope: Any,
                      progress: Progress) -> dict[str, Any] | None:
        if scope.window_start is None or scope.window_end is None:
            return None
        names = {f.field for info in chosen.values() for f in info.fields} if scope.fields else None
        fields = [f for info in chosen.values() for f in info.fields]
        clear = not fields or any(not f.unintelligible(scope.keys_compromised) for f in fields)
        entries, named = 0, set()
        for batch in self.audit.between(scope.window_start, scope.window_end):
            for e in batch:
                if e.subject and (names is None or names & set(e.fields)) and not e.action.startswith("breach."):
                    entries += 1
                    named.add(e.subject)
            progress.advance(len(batch))
        new = sorted(named - set(found))
        reachable = set()
        for i in range(0, len(new), _BATCH):
            reachable |= self.subjects.with_address(new[i:i + _BATCH])
        for subject in named:
            entry = found.setdefault(subject, Found(reachable=subject in reachable))
            entry.via.add("audit")
            entry.intelligible |= clear
        return {"window_start": scope.window_start.isoformat(), "window_end": scope.window_end.isoformat(),
                "entries": entries, "subjects": len(named)}

    # -- storing ------------------------------------------------------------------------------------------
    def _save(self, breach: Breach, found: dict[str, Found], result: dict[str, Any], exemption: str | None, *,
              actor: str) -> None:
        now = self.clock()
        with self.store.begin() as conn:
            conn.execute(delete(breach_subjects).where(breach_subjects.c.breach_id == breach.id,
                                                       breach_subjects.c.notice.in_(REPLACEABLE),
                                                       breach_subjects.c.queued_at.is_(None)))
            kept = _kept(conn, breach.id)
            rows = [{"breach_id": breach.id, "subject": s, "via": ",".join(sorted(f.via))[:200],
                     "intelligible": f.intelligible, "reachable": f.reachable, "notice": _notice(f), "attempts": 0}
                    for s, f in sorted(found.items()) if s not in kept]
            for i in range(0, len(rows), _BATCH):
                conn.execute(insert(breach_subjects), rows[i:i + _BATCH])
            self.register.save_assessment(conn, breach.id, result, exemption, actor=actor, now=now)


def _kept(conn: Connection, breach_id: str) -> set[str]:
    return {r[0] for r in conn.execute(select(breach_subjects.c.subject)
                                       .where(breach_subjects.c.breach_id == breach_id))}


def _notice(found: Found) -> str:
    if not found.intelligible:
        return "not_needed"  # Art. 34(3)(a)
    return "to_send" if found.reachable else "unreachable"


def _exemption(breach: Breach, chosen: dict[str, StoreInfo], counts: dict[str, int]) -> str | None:
    """Why subjects need no notice (Art. 34(3)), or None when every affected subject is to be told."""
    if breach.incident.high_risk is False:
        return ("Art. 34(1): the breach is assessed as not likely to result in a high risk to the rights and "
                "freedoms of natural persons, so no communication to data subjects is due.")
    if not counts["unintelligible"]:
        return None
    encrypted = sorted(f.name for info in chosen.values() for f in info.fields if f.unintelligible(False))
    what = (f"the data in scope ({', '.join(encrypted[:12])}) is encrypted at rest with AES-256-GCM (keyed HMAC "
            "for lookup indexes) under keys that were not compromised, so it is unintelligible to any person not "
            "authorised to access it")
    if counts["unintelligible"] == counts["subjects"]:
        return f"Art. 34(3)(a): {what}; no communication to the {counts['subjects']} subject(s) is due."
    return (f"Art. 34(3)(a) for {counts['unintelligible']} of {counts['subjects']} subject(s): for them {what}; "
            "the others are told.")
