"""The record of who read which customer's encrypted fields: rows in ``sp_field_reads``, each batch covered by one
entry of the audit chain (``fields.read``) that holds the digest of its rows, so ``audit verify`` names an edited,
deleted or inserted read row. Denied reads are audit entries of their own (``fields.read_denied``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..errors import AuditChainError, InvalidInput
from ..store import proof
from ..store.audit import AuditLog
from ..store.audit_seal import at_text
from ..store.audit_verify import decoded
from ..store.engine import Store
from ..store.schema import audit_log
from .tables import field_reads, subject_keys

READ_ACTION = "fields.read"
DENIED_ACTION = "fields.read_denied"


@dataclass(frozen=True)
class Identity:
    """Who reads: ``actor`` (e.g. ``"staff:42"``), the ``role`` the access policy knows, and the ``purpose``."""

    actor: str
    purpose: str
    role: str | None = None

    def __post_init__(self) -> None:
        for name, value, most in (("actor", self.actor, 120), ("purpose", self.purpose, 200)):
            if not isinstance(value, str) or not value.strip() or len(value) > most or "\x00" in value:
                raise InvalidInput(f"a reader's {name} must be 1-{most} characters")
        if self.role is not None and (not isinstance(self.role, str) or not 0 < len(self.role) <= 60):
            raise InvalidInput("a reader's role must be 1-60 characters")


@dataclass(frozen=True)
class FieldAccess:
    """One batch row: reads of ``fields`` of one subject (its key pseudonym, or ``None`` when not known)."""

    at: datetime
    actor: str
    role: str | None
    purpose: str
    fields: tuple[str, ...]
    reads: int


def _row_digest(rows: Sequence[Mapping[str, Any]]) -> str:
    keep = ("at", "actor", "role", "purpose", "subject", "fields", "reads")
    text = json.dumps([{k: at_text(r[k]) if k == "at" else r[k] for k in keep} for r in rows],
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class AccessLog:
    """Writes and reads the record of field reads. ``key_subject`` turns a subject id into its key pseudonym."""

    def __init__(self, store: Store, audit: AuditLog, *, key_subject: Callable[[str], str],
                 clock: Callable[[], datetime]) -> None:
        self.store, self.audit, self.key_subject, self.clock = store, audit, key_subject, clock

    def record(self, who: Identity, reads: Mapping[tuple[str | None, str | None], dict[str, int]]) -> int | None:
        """Write one batch: ``reads`` maps (subject pseudonym, key handle) to {field: count}. Returns the audit
        entry's sequence number (``None`` for an empty batch)."""
        if not reads:
            return None
        with self.store.begin() as conn:
            by_handle = self._subjects_of(conn, {h for (s, h) in reads if s is None and h is not None})
            merged: dict[str | None, dict[str, int]] = {}
            for (subject, handle), counts in reads.items():
                target = merged.setdefault(subject if subject is not None else by_handle.get(handle or ""), {})
                for name, n in counts.items():
                    target[name] = target.get(name, 0) + n
            at = self.clock()
            rows = [{"at": at, "actor": who.actor, "role": who.role, "purpose": who.purpose, "subject": subject,
                     "fields": sorted(counts), "reads": sum(counts.values())}
                    for subject, counts in sorted(merged.items(), key=lambda kv: kv[0] or "")]
            names = sorted({name for counts in merged.values() for name in counts})
            only = next(iter(merged)) if len(merged) == 1 else None
            seq = self.audit.append(conn, actor=who.actor, action=READ_ACTION, subject=only, fields=names,
                                    meta={"purpose": who.purpose, "role": who.role, "subjects": len(rows),
                                          "reads": sum(r["reads"] for r in rows), "digest": _row_digest(rows)})
            conn.execute(insert(field_reads), [{**r, "audit_seq": seq} for r in rows])
        return seq

    def denied(self, who: Identity, field: str, subject: str | None, conn: Connection | None = None) -> int:
        """Audit a refused read at once (in ``conn`` when given, else in a transaction of its own)."""
        kwargs: dict[str, Any] = {"actor": who.actor, "action": DENIED_ACTION, "subject": subject,
                                  "fields": [field], "meta": {"purpose": who.purpose, "role": who.role}}
        if conn is not None:
            return self.audit.append(conn, **kwargs)
        return self.audit.record(**kwargs)

    @staticmethod
    def _subjects_of(conn: Connection, handles: set[str]) -> dict[str, str]:
        if not handles:
            return {}
        q = select(subject_keys.c.handle, subject_keys.c.subject).where(subject_keys.c.handle.in_(sorted(handles)))
        return {r.handle: r.subject for r in conn.execute(q)}

    def of(self, subjects: Iterable[str], *, limit: int = 5000) -> list[FieldAccess]:
        """Who read the fields of any of ``subjects`` (subject ids, as given to ``sp.fields``), oldest first."""
        keys = sorted({self.key_subject(s) for s in subjects if s})
        if not keys:
            return []
        q = (select(field_reads).where(field_reads.c.subject.in_(keys))
             .order_by(field_reads.c.at, field_reads.c.id).limit(limit))
        with self.store.begin(write=False) as conn:
            return [FieldAccess(r.at, r.actor, r.role, r.purpose, tuple(r.fields), r.reads) for r in conn.execute(q)]

    def volume(self, *, hours: int = 24) -> dict[str, int]:
        """Reads per actor over the last ``hours``."""
        since = self.clock() - timedelta(hours=hours)
        q = (select(field_reads.c.actor, func.sum(field_reads.c.reads)).where(field_reads.c.at >= since)
             .group_by(field_reads.c.actor))
        with self.store.begin(write=False) as conn:
            return {actor: int(n) for actor, n in conn.execute(q)}


def check(conn: Connection) -> list[AuditChainError]:
    """Every batch of read rows that differs from the digest in its ``fields.read`` audit entry."""
    found: list[AuditChainError] = []
    q = select(audit_log.c.seq, audit_log.c.action, audit_log.c.at, audit_log.c.fields, audit_log.c.meta)
    covered: dict[int, str] = {}
    for entry in conn.execute(q.where(audit_log.c.action == READ_ACTION).order_by(audit_log.c.seq)):
        digest = decoded(entry)[2].get("digest")
        if isinstance(digest, str):
            covered[entry.seq] = digest
    batches: dict[int, list[Any]] = {}
    for row in conn.execute(select(field_reads).order_by(field_reads.c.audit_seq, field_reads.c.id)).mappings():
        batches.setdefault(int(row["audit_seq"]), []).append(row)
    oldest = min(covered) if covered else None
    for seq, rows in batches.items():
        if seq not in covered and (oldest is None or seq < oldest):
            continue  # older than every remaining entry: the chain was truncated past it
        if seq not in covered:
            found.append(AuditChainError(f"field-read rows of audit entry {seq} have no such entry: they were "
                                         "inserted outside the SDK", seq=None, kind="proof"))
        elif _row_digest(rows) != covered[seq]:
            found.append(AuditChainError(f"field-read rows differ from the digest in audit entry {seq}: they were "
                                         "edited, deleted or inserted", seq=seq, kind="proof"))
    for seq in covered:
        if seq not in batches:
            found.append(AuditChainError(f"field-read rows of audit entry {seq} are gone: they were deleted outside "
                                         "the SDK", seq=seq, kind="proof"))
    return found


def purge(conn: Connection, through_seq: int) -> None:
    """Drop read rows whose audit entries were truncated (they follow the audit log's retention)."""
    conn.execute(field_reads.delete().where(field_reads.c.audit_seq <= through_seq))


proof.register_check(check, purge)
