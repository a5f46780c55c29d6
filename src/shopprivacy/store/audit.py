"""Append-only audit log, each entry HMAC-chained to the one before it.

An entry records time, actor, action, subject pseudonym and field *names*, plus small non-personal
metadata (counts, ids of SDK objects). Values are never stored. :meth:`AuditLog.verify` detects an edited,
deleted, inserted or reordered entry and names the first bad one.

Limit: someone with write access to the database *and* an old copy of the head row could cut entries off
the end and restore that head; keep :meth:`AuditLog.head` somewhere else (a log line, a ticket) to catch it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, select, type_coerce, update
from sqlalchemy.engine import Connection
from sqlalchemy.types import NullType

from ..errors import AuditChainError, InvalidInput, UnknownKeyError
from ..keys import Keyring
from .engine import Store
from .schema import audit_head, audit_log
from .types import utcnow

GENESIS = "0" * 64
_HEAD = select(audit_head).where(audit_head.c.id == 1)
_INSERT = insert(audit_log)
_MOVE_HEAD = update(audit_head).where(audit_head.c.id == 1)
MetaValue = str | int | bool | None


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    fields: tuple[str, ...]
    meta: Mapping[str, MetaValue]


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    first_seq: int | None
    last_seq: int | None
    last_mac: str


def _at_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_meta(meta: Mapping[str, Any]) -> dict[str, MetaValue]:
    out: dict[str, MetaValue] = {}
    for k, v in meta.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, (str, int, bool))):
            raise InvalidInput("audit meta takes string keys and str/int/bool/None values only")
        if isinstance(v, str) and (len(v) > 200 or "\x00" in v or not _encodable(v)):
            raise InvalidInput(f"audit meta {k!r} must be at most 200 characters without NUL")
        out[k] = v
    return out


class AuditLog:
    """The audit chain. Entries are appended inside the caller's transaction, so they commit with it."""

    def __init__(self, store: Store, keyring: Keyring, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock

    def _mac(self, key_id: str, seq: int, at: datetime, actor: str, action: str, subject: str | None,
             fields: Sequence[str], meta: Mapping[str, Any], prev_mac: str) -> str:
        body = json.dumps(
            [seq, _at_text(at), actor, action, subject, list(fields), dict(meta), key_id, prev_mac],
            sort_keys=True, separators=(",", ":"), ensure_ascii=True,
        ).encode()
        return hmac.new(self.keyring.subkey("audit", key_id), body, hashlib.sha256).hexdigest()

    def append(self, conn: Connection, *, actor: str, action: str, subject: str | None = None,
               fields: Iterable[str] = (), meta: Mapping[str, Any] | None = None) -> int:
        """Append an entry in ``conn``'s transaction; returns its sequence number."""
        if not actor or not action or len(actor) > 120 or len(action) > 120:
            raise InvalidInput("audit actor and action must be 1-120 characters")
        if subject is not None and len(subject) > 120:
            raise InvalidInput("audit subject must be a pseudonym of at most 120 characters")
        names = tuple(sorted(set(fields)))
        text = actor + action + (subject or "") + "".join(names)
        if "\x00" in text or not _encodable(text):
            raise InvalidInput("audit entries cannot hold NUL characters or unpaired surrogates")
        clean_meta = _check_meta(meta or {})
        self.store.lock(conn, "shopprivacy:audit")
        head = conn.execute(_HEAD).first()
        if head is None:
            conn.execute(insert(audit_head).values(id=1, last_seq=0, last_mac=GENESIS, base_seq=0,
                                                   base_mac=GENESIS))
            last_seq, last_mac = 0, GENESIS
        else:
            last_seq, last_mac = head.last_seq, head.last_mac
        seq, at, kid = last_seq + 1, self.clock(), self.keyring.primary_id
        mac = self._mac(kid, seq, at, actor, action, subject, names, clean_meta, last_mac)
        conn.execute(_INSERT, {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                               "fields": list(names), "meta": clean_meta, "key_id": kid, "prev_mac": last_mac,
                               "mac": mac})
        conn.execute(_MOVE_HEAD, {"last_seq": seq, "last_mac": mac})
        return seq

    def record(self, **kwargs: Any) -> int:
        """Append an entry in a transaction of its own."""
        with self.store.begin() as conn:
            return self.append(conn, **kwargs)

    def head(self) -> tuple[int, str]:
        """(last sequence number, its MAC): keep it elsewhere to detect truncation of the tail."""
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
        return (0, GENESIS) if row is None else (row.last_seq, row.last_mac)

    def entries(self, *, subject: str | None = None, action: str | None = None,
                limit: int = 1000) -> list[AuditEntry]:
        """The newest ``limit`` entries (oldest first), optionally for one subject or action."""
        q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if subject is not None:
            q = q.where(audit_log.c.subject == subject)
        if action is not None:
            q = q.where(audit_log.c.action == action)
        with self.store.begin(write=False) as conn:
            rows = conn.execute(q).all()
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, tuple(r.fields), dict(r.meta))
                for r in reversed(rows)]

    def _rows(self, conn: Connection) -> Iterator[Any]:
        # Time, field names and meta come back as the driver gives them and are decoded by _decoded, so a
        # hand-edited row is reported as a corrupt entry instead of failing inside a result processor.
        raw = [type_coerce(c, NullType()).label(c.name) if c.name in ("at", "fields", "meta") else c
               for c in audit_log.c]
        q = select(*raw).order_by(audit_log.c.seq)
        yield from conn.execution_options(yield_per=2000).execute(q)

    @staticmethod
    def _decoded(row: Any) -> tuple[datetime, list[str], dict[str, Any]]:
        """(time, field names, meta) of a raw row; AuditChainError when a value has the wrong shape."""
        try:
            at, names, meta = row.at, row.fields, row.meta
            at = datetime.fromisoformat(at) if isinstance(at, str) else at
            names = json.loads(names) if isinstance(names, str) else names
            meta = json.loads(meta) if isinstance(meta, str) else meta
            if not isinstance(at, datetime) or not isinstance(names, list) or not isinstance(meta, dict) \
                    or not all(isinstance(n, str) for n in names):
                raise TypeError("wrong shape")
        except (TypeError, ValueError):
            raise AuditChainError(f"audit entry {row.seq} is corrupt (unreadable time, fields or meta)",
                                  seq=row.seq) from None
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
        return at, names, meta

    def verify(self) -> VerifyReport:
        """Walk the whole chain; raise :class:`AuditChainError` naming the first bad entry."""
        with self.store.begin(write=False) as conn:
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
            if head is None:
                if conn.execute(select(func.count()).select_from(audit_log)).scalar_one():
                    raise AuditChainError("the audit head record is missing", seq=None)
                return VerifyReport(0, None, None, GENESIS)
            expected, prev, count, first = head.base_seq + 1, head.base_mac, 0, None
            for row in self._rows(conn):
                if row.seq != expected:
                    bad = expected if row.seq > expected else row.seq
                    raise AuditChainError(f"audit entry {bad} is missing or out of place (deleted or inserted)",
                                          seq=bad)
                if row.prev_mac != prev:
                    raise AuditChainError(f"audit entry {row.seq} does not follow entry {row.seq - 1} "
                                          "(inserted or reordered)", seq=row.seq)
                at, names, meta = self._decoded(row)
                try:
                    mac = self._mac(row.key_id, row.seq, at, row.actor, row.action, row.subject,
                                    names, meta, row.prev_mac)
                except UnknownKeyError:
                    raise AuditChainError(f"audit entry {row.seq} names key {row.key_id!r}, which is not in "
                                          "the keyset", seq=row.seq) from None
                if not hmac.compare_digest(mac, row.mac):
                    raise AuditChainError(f"audit entry {row.seq} was modified", seq=row.seq)
                first = row.seq if first is None else first
                prev, expected, count = row.mac, expected + 1, count + 1
            if expected - 1 != head.last_seq or prev != head.last_mac:
                raise AuditChainError(
                    f"the audit log ends at entry {expected - 1} but its head names entry {head.last_seq}: "
                    "entries were removed from the end or the head was edited",
                    seq=min(expected - 1, head.last_seq) + 1)
        return VerifyReport(count, first, head.last_seq if count else None, prev)

    def truncate(self, *, before: datetime, actor: str = "retention") -> int:
        """Remove entries older than ``before``, keeping the chain verifiable. Returns how many went."""
        with self.store.begin() as conn:
            self.store.lock(conn, "shopprivacy:audit")
            last = conn.execute(select(audit_log.c.seq, audit_log.c.mac).where(audit_log.c.at < before)
                                .order_by(audit_log.c.seq.desc()).limit(1)).first()
            if last is None:
                return 0
            gone = conn.execute(delete(audit_log).where(audit_log.c.seq <= last.seq)).rowcount
            conn.execute(update(audit_head).where(audit_head.c.id == 1)
                         .values(base_seq=last.seq, base_mac=last.mac))
            self.append(conn, actor=actor, action="audit.truncated", meta={"through_seq": last.seq,
                                                                             "removed": gone})
            return int(gone)
