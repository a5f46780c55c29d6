"""Where the shop's configuration and its declaration disagree: each kind of drift, one line each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..hints import closest
from ..retention.rules import Rule
from .model import Declaration

DRIFT_KINDS = ("retention_undeclared", "retention_missing", "retention_unknown_rule", "rights_source_missing",
               "cookie_undeclared", "processor_contract", "processor_transfer")


#: Prefix of the SDK's default retention rules (``shopprivacy.retention.defaults``).
SDK_RULES = "sdk."


@dataclass(frozen=True)
class Drift:
    """One disagreement: its ``kind`` (one of :data:`DRIFT_KINDS`) and a message saying how to fix it."""

    kind: str
    message: str


def _source_tables(source: Any) -> set[str]:
    """The tables a rights source covers: a ``TableSource``'s table, a Django ``ModelSource``'s, else its name."""
    names = {str(getattr(source, "name", ""))}
    table_name = getattr(getattr(source, "table", None), "name", None)
    if table_name:
        names.add(str(table_name))
    db_table = getattr(getattr(getattr(source, "model", None), "_meta", None), "db_table", None)
    if db_table:
        names.add(str(db_table))
    return names


def check(decl: Declaration, *, rules: Sequence[Rule] = (), sources: Sequence[Any] | None = None,
          cookies_seen: Iterable[str] = ()) -> list[Drift]:
    """Every drift between ``decl`` and the retention ``rules``, the rights ``sources`` (``None``: not checked)
    and the names of cookies the shop was seen setting."""
    found: list[Drift] = []
    declared_tables = {t for d in decl.data.values() for t in d.tables}
    by_name = {r.name: r for r in rules}
    for rule in rules:
        if rule.name.startswith(SDK_RULES):
            continue  # the SDK's default rules keep its own bookkeeping tables, declared in docs/declaration.md
        if rule.entity in ("sdk", "sql") and rule.table not in declared_tables:
            found.append(Drift("retention_undeclared", f"retention rule {rule.name!r} acts on table {rule.table!r}, "
                                                       "which no data category declares: add it to a category's "
                                                       "fields (e.g. \"" + f"{rule.table}.*\")"))
    for did, data in decl.data.items():
        for name in data.retention:
            if name not in by_name:
                near = closest(name, list(by_name))
                hint = f"; did you mean {near!r}?" if near else ""
                found.append(Drift("retention_unknown_rule", f"data {did!r} names retention rule {name!r}, which is "
                                                             f"not loaded{hint}"))
        if not data.retention and data.keep_for is None:
            found.append(Drift("retention_missing", f"data {did!r} has no retention: name the retention rules that "
                                                    "delete it (retention = [...]) or state keep_for"))
    if sources is not None:
        covered = {t for s in sources for t in _source_tables(s)}
        for did, data in decl.data.items():
            if data.stored_in != "shop":
                continue
            for table in sorted(data.tables - covered):
                found.append(Drift("rights_source_missing", f"data {did!r} is stored in the shop's table {table!r}, "
                                                            "which no rights source covers: register one with "
                                                            "sp.rights.register_source(TableSource(...)) so "
                                                            "requests reach it"))
    for name in sorted(set(cookies_seen)):
        if not any(c.matches(name) for c in decl.cookies):
            found.append(Drift("cookie_undeclared", f"the shop set the cookie {name!r}, which the declaration does not "
                                                    "list: add a [[cookies]] entry (name, category, provider, "
                                                    "lifetime, purpose)"))
    for pid, proc in decl.processors.items():
        if proc.role == "processor" and proc.contract_date is None:
            found.append(Drift("processor_contract", f"processor {pid!r} ({proc.name}) has no contract_date: sign a "
                                                     "data processing agreement (GDPR Art. 28) and record its date"))
        if proc.needs_transfer_mechanism and proc.transfer in (None, "eea"):
            found.append(Drift("processor_transfer", f"processor {pid!r} ({proc.name}) is in {proc.country}, outside "
                                                     "the EEA, without a transfer mechanism: set transfer to "
                                                     "adequacy, dpf, scc or bcr"))
    return found
