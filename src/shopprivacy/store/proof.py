"""Proof rows under the audit chain: each row of a proof table (cookie-consent choices, e-mail consent events)
gets an audit entry holding the row's digest, so ``audit verify`` names a proof row that was edited, deleted or
inserted outside the SDK.

The digest is a SHA-256 of the row as read back (every column, its id included); it needs no key because the
entry holding it is HMAC-chained. The keyed IP / user-agent hashes have a digest of their own, so retention
may redact them (set them NULL) without breaking the proof; any other change is reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection, CursorResult

from ..errors import AuditChainError, StoreError
from .audit_seal import at_text
from .audit_verify import decoded
from .schema import audit_log

if TYPE_CHECKING:
    from .audit import AuditLog

#: Columns retention may redact (set NULL) in a proof row.
REDACTABLE = ("ip_hash", "ua_hash")
#: Action of the audit entries that cover proof rows.
PROOF_ACTION = "proof.recorded"
_TABLES: dict[str, Table] = {}
_CHECKS: list[Callable[[Connection], list[AuditChainError]]] = []
_PURGES: list[Callable[[Connection, int], None]] = []


def register(table: Table) -> Table:
    """Declare ``table`` a proof table (it needs an integer ``id`` primary key); returns it."""
    _TABLES[table.name] = table
    return table


def register_check(check: Callable[[Connection], list[AuditChainError]],
                   purge: Callable[[Connection, int], None] | None = None) -> None:
    """Add a check of rows covered some other way (e.g. batches of field reads) to ``audit verify``; ``purge``
    deletes those rows covered by entries up to a sequence number when the audit log is truncated."""
    if check not in _CHECKS:
        _CHECKS.append(check)
    if purge is not None and purge not in _PURGES:
        _PURGES.append(purge)


def purge_covered(conn: Connection, through_seq: int) -> None:
    """Delete rows covered by audit entries up to ``through_seq`` (called by the audit log's truncation)."""
    for purge in _PURGES:
        purge(conn, through_seq)


def proof_tables() -> dict[str, Table]:
    return dict(_TABLES)


def _text(value: Any) -> Any:
    return at_text(value) if isinstance(value, datetime) else value


def digests(row: Mapping[Any, Any]) -> tuple[str, str | None]:
    """(digest of the row without its redactable columns, digest of those or ``None`` when all are NULL)."""
    core = {k: _text(v) for k, v in row.items() if k not in REDACTABLE}
    net = [row.get(k) for k in REDACTABLE if k in row]
    text = json.dumps(core, sort_keys=True, separators=(",", ":"), default=str)
    net_digest = None if all(v is None for v in net) else hashlib.sha256(
        json.dumps(net, separators=(",", ":")).encode()).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest(), net_digest


def cover(conn: Connection, audit: AuditLog, table: Table, inserted: CursorResult[Any], *, actor: str,
          subject: str | None = None) -> int:
    """Append the audit entry covering the row of ``table`` just inserted (``inserted``) in ``conn``'s
    transaction."""
    key = inserted.inserted_primary_key
    if key is None:
        raise StoreError(f"no row of {table.name} was inserted")
    row = conn.execute(select(table).where(table.c.id == int(key[0]))).mappings().one()
    return audit.append(conn, actor=actor[:120] or "system", action=PROOF_ACTION, subject=subject,
                        meta=_covering(table, row))


def insert_returning(table: Table) -> Any:
    """An INSERT into the proof table ``table`` that returns the whole row as stored, for :func:`cover_row`."""
    return insert(table).returning(*table.c)


def cover_row(conn: Connection, audit: AuditLog, table: Table, row: Mapping[Any, Any], *, actor: str,
              subject: str | None = None) -> None:
    """Stage the audit entry covering ``row`` of ``table`` (as returned by :func:`insert_returning`, so not read
    back): written last in ``conn``'s transaction with the other staged entries (``AuditLog.stage``)."""
    audit.stage(conn, actor=actor[:120] or "system", action=PROOF_ACTION, subject=subject,
                meta=_covering(table, row))


def _covering(table: Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    core, net = digests(row)
    meta: dict[str, Any] = {"table": table.name, "row": int(row["id"]), "digest": core}
    if net is not None:
        meta["net"] = net
    return meta


@dataclass(frozen=True)
class _Covered:
    seq: int
    digest: str
    net: str | None


def check(conn: Connection) -> list[AuditChainError]:
    """Every problem between the proof tables and the audit entries covering them (one per row).

    Rows older than the oldest covered row of their table (written before proof rows were covered, or whose
    entries were truncated) are not checked. A covered row that is gone is reported as deleted unless it is
    older than every remaining row and a ``retention.delete`` entry follows its own (retention's work)."""
    covered: dict[str, dict[int, _Covered]] = {name: {} for name in _TABLES}
    last_delete = 0
    q = select(audit_log.c.seq, audit_log.c.action, audit_log.c.at, audit_log.c.fields, audit_log.c.meta)
    for entry in conn.execute(q.where(audit_log.c.action.in_((PROOF_ACTION, "retention.delete")))
                              .order_by(audit_log.c.seq)):
        if entry.action != PROOF_ACTION:
            last_delete = entry.seq
            continue
        _, _, meta = decoded(entry)
        table, rid = meta.get("table"), meta.get("row")
        if table in covered and isinstance(rid, int) and isinstance(meta.get("digest"), str):
            net = meta.get("net")
            covered[table][rid] = _Covered(entry.seq, meta["digest"], net if isinstance(net, str) else None)
    found: list[AuditChainError] = [problem for extra in _CHECKS for problem in extra(conn)]
    for name, table in _TABLES.items():
        entries = covered[name]
        if not entries:
            continue
        start = min(entries)
        seen: set[int] = set()
        for row in conn.execute(select(table).where(table.c.id >= start).order_by(table.c.id)).mappings():
            rid = int(row["id"])
            seen.add(rid)
            covering = entries.get(rid)
            if covering is None:
                found.append(AuditChainError(f"proof row {rid} of {name} has no audit entry: it was inserted "
                                             "outside the SDK", seq=None, kind="proof"))
                continue
            core, net = digests(row)
            if core != covering.digest or (net is not None and net != covering.net):
                found.append(AuditChainError(f"proof row {rid} of {name} differs from the digest in audit entry "
                                             f"{covering.seq}: it was edited", seq=covering.seq, kind="proof"))
        oldest = min(seen) if seen else None
        for rid, gone in sorted(entries.items()):
            if rid in seen:
                continue
            swept = (oldest is None or rid < oldest) and last_delete > gone.seq
            if not swept:
                found.append(AuditChainError(f"proof row {rid} of {name}, covered by audit entry {gone.seq}, is "
                                             "gone: it was deleted outside the SDK", seq=gone.seq, kind="proof"))
    return found
