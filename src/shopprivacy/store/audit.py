"""Append-only audit log, each entry HMAC-chained to the one before it, with a sealed and anchored head.

An entry records time, actor, action, subject pseudonym and field *names*, plus small non-personal
metadata (counts, ids of SDK objects). Values are never stored. :meth:`AuditLog.verify` detects an edited,
deleted, inserted or reordered entry and names the first bad one.

The head (newest entry and the base left by truncation) is sealed with the audit key, so writing the database
is not enough to point it at an older entry. Entries cut off the end together with a head an attacker saved
earlier are caught by the anchor: copies of the sealed head kept outside the database (see ``audit_anchor``
and docs/operations.md), which :meth:`AuditLog.verify` compares the chain with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidInput, ShopPrivacyError
from ..keys import Keyring
from . import proof
from .audit_anchor import Anchor, AnchorFile, log_anchor
from .audit_anchor import log as anchor_log
from .audit_seal import EMPTY_HEAD, GENESIS, AuditHead, ChainMacs
from .audit_verify import BAD_HEAD, TRUNCATED, ChainCheck, VerifyReport, current_head, raise_problems, read_head
from .engine import Store
from .schema import audit_head, audit_log
from .types import utcnow

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "VerifyReport"]

_LOCK = "shopprivacy:audit"
_INSERT = insert(audit_log)
_MOVE_HEAD = update(audit_head).where(audit_head.c.id == 1)
_INSERT_HEAD = insert(audit_head)
_HEAD_COLUMNS = ("last_seq", "last_mac", "base_seq", "base_mac", "key_id", "seal")
#: Move the head only if it still is, column for column, the sealed head this process committed last.
_MOVE_KNOWN_HEAD = update(audit_head).where(
    audit_head.c.id == 1, *(audit_head.c[c] == bindparam(f"was_{c}") for c in _HEAD_COLUMNS)
).values({c: bindparam(c) for c in _HEAD_COLUMNS})


def _head_values(head: AuditHead) -> dict[str, Any]:
    return {"last_seq": head.last_seq, "last_mac": head.last_mac, "base_seq": head.base_seq,
            "base_mac": head.base_mac, "key_id": head.key_id, "seal": head.seal}
HEAD_SEALED = "audit.head_sealed"
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


_STAGED = "sp_audit_staged"
_Entry = tuple[str, str, str | None, tuple[str, ...], dict[str, MetaValue]]


def _checked(actor: str, action: str, subject: str | None, fields: Iterable[str],
             meta: Mapping[str, Any] | None) -> _Entry:
    """An entry's parts, checked: InvalidInput for anything the chain cannot hold."""
    if not actor or not action or len(actor) > 120 or len(action) > 120:
        raise InvalidInput("audit actor and action must be 1-120 characters")
    if subject is not None and len(subject) > 120:
        raise InvalidInput("audit subject must be a pseudonym of at most 120 characters")
    names = tuple(sorted(set(fields)))
    text = actor + action + (subject or "") + "".join(names)
    if "\x00" in text or not _encodable(text):
        raise InvalidInput("audit entries cannot hold NUL characters or unpaired surrogates")
    return actor, action, subject, names, _check_meta(meta or {})


class AuditLog:
    """The audit chain. Entries are appended inside the caller's transaction, so they commit with it.

    ``anchor_file``: where :meth:`anchor` keeps copies of the sealed head (``Settings.audit.anchor_path``).
    """

    def __init__(self, store: Store, keyring: Keyring, *, clock: Callable[[], datetime] = utcnow,
                 anchor_file: AnchorFile | None = None) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.anchor_file = anchor_file
        self.macs = ChainMacs(keyring)
        self._staged = f"{_STAGED}:{id(self)}"  # this log's staged entries in a transaction's state
        self._committed: AuditHead | None = None  # the sealed head this process last committed

    def append(self, conn: Connection, *, actor: str, action: str, subject: str | None = None,
               fields: Iterable[str] = (), meta: Mapping[str, Any] | None = None) -> int:
        """Append an entry in ``conn``'s transaction; returns its sequence number. Entries staged in the same
        transaction (:meth:`stage`) are written first, so the chain keeps the order they were made in."""
        entry = _checked(actor, action, subject, fields, meta)
        state = self.store.transaction_state(conn)
        staged: list[_Entry] = state.pop(self._staged, []) if state is not None else []
        return self._append_all(conn, [*staged, entry])

    def stage(self, conn: Connection, *, actor: str, action: str, subject: str | None = None,
              fields: Iterable[str] = (), meta: Mapping[str, Any] | None = None) -> None:
        """Append an entry last in ``conn``'s transaction, just before it commits, together with every other
        entry staged in it: the chain's lock is taken then and held only through the commit, and one head read
        and one head update serve them all. The entry is checked now (bad input raises here). In a transaction
        not begun by ``Store.begin`` it is appended at once."""
        entry = _checked(actor, action, subject, fields, meta)
        state = self.store.transaction_state(conn)
        if state is None:
            self._append_all(conn, [entry])
            return
        staged: list[_Entry] | None = state.get(self._staged)
        if staged is None:
            state[self._staged] = [entry]
            self.store.before_commit(conn, self._staged, lambda: self._flush(conn))
        else:
            staged.append(entry)

    def _flush(self, conn: Connection) -> None:
        state = self.store.transaction_state(conn)
        staged: list[_Entry] = state.pop(self._staged, []) if state is not None else []
        if staged:
            self._append_all(conn, staged)

    def _append_all(self, conn: Connection, entries: list[_Entry]) -> int:
        """Write ``entries`` after the head; returns the last sequence number.

        Fast path: chain from the head this process last committed and move the head row only if it still holds
        exactly that sealed head (one conditional UPDATE, which also takes the row's lock until the commit), then
        insert the entries: no head read and no advisory lock. Anything else — another writer moved the head,
        no head yet, a head that is not sealed right — takes the full path, which reads and checks the head
        (recording a bad one) as before, holding its row (and the chain's lock while there is no row)."""
        known = self._committed
        if known is not None:
            rows, head = self._chain(known, entries)
            sealed = self.macs.sealed(head)
            moved = conn.execute(_MOVE_KNOWN_HEAD, {**_head_values(sealed), **{f"was_{k}": v for k, v in
                                                                               _head_values(known).items()}})
            if moved.rowcount == 1:
                conn.execute(_INSERT, rows)
                return self._saved(conn, sealed)
        # PostgreSQL: the head row's lock is what appenders queue on (a failed conditional UPDATE holds it
        # already); the chain's advisory lock only while there is no head row to lock, and always before it
        if self.store.dialect != "postgresql" or read_head(conn, lock=True) is None:
            self.store.lock(conn, _LOCK)
        head, stored = self._start(conn)
        rows, head = self._chain(head, entries)
        conn.execute(_INSERT, rows)
        return self._save(conn, head, stored)

    def _chain(self, head: AuditHead, entries: list[_Entry]) -> tuple[list[dict[str, Any]], AuditHead]:
        """The rows of ``entries`` chained after ``head``, and the head after them (not sealed)."""
        rows: list[dict[str, Any]] = []
        seq, mac, kid = head.last_seq, head.last_mac, self.keyring.primary_id
        for actor, action, subject, names, meta in entries:
            seq, at = seq + 1, self.clock()
            prev, mac = mac, self.macs.entry(kid, seq, at, actor, action, subject, names, meta, mac)
            rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                         "fields": list(names), "meta": dict(meta), "key_id": kid, "prev_mac": prev, "mac": mac})
        return rows, replace(head, last_seq=seq, last_mac=mac, key_id=None, seal=None)

    def _start(self, conn: Connection) -> tuple[AuditHead, bool]:
        """The head to chain from (its row locked until the transaction ends), and whether a head row exists. A
        head that is missing or not sealed right is rebuilt from the entries, after an ``audit.bad_head`` entry
        that keeps the finding in the chain."""
        self._committed = None
        head, stored, trouble = current_head(conn, self.macs, lock=True)
        if trouble is not None:
            anchor_log.error("audit head found %s (it named entry %s); recorded as %s", trouble, head.last_seq,
                             BAD_HEAD)
            head = self._write(conn, head, "system", BAD_HEAD, None, (),
                               {"found_seq": head.last_seq, "reason": trouble})
        return head, stored

    def _write(self, conn: Connection, head: AuditHead, actor: str, action: str, subject: str | None,
               names: tuple[str, ...], meta: Mapping[str, MetaValue]) -> AuditHead:
        seq, at, kid = head.last_seq + 1, self.clock(), self.keyring.primary_id
        mac = self.macs.entry(kid, seq, at, actor, action, subject, names, meta, head.last_mac)
        conn.execute(_INSERT, {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                               "fields": list(names), "meta": dict(meta), "key_id": kid, "prev_mac": head.last_mac,
                               "mac": mac})
        return replace(head, last_seq=seq, last_mac=mac, key_id=None, seal=None)

    def _save(self, conn: Connection, head: AuditHead, stored: bool) -> int:
        """Seal ``head`` and store it; once the transaction commits, log it as an anchor."""
        sealed = self.macs.sealed(head)
        values = _head_values(sealed)
        conn.execute(_MOVE_HEAD if stored else _INSERT_HEAD, values if stored else {"id": 1, **values})
        return self._saved(conn, sealed)

    def _saved(self, conn: Connection, sealed: AuditHead) -> int:
        """Once the transaction commits: remember ``sealed`` as the head to chain from next, log it as an anchor."""
        at = self.clock() if anchor_log.isEnabledFor(logging.INFO) else None

        def committed() -> None:
            self._committed = sealed
            if at is not None:
                log_anchor(sealed, at)

        self.store.after_commit(conn, "audit.anchor", committed)
        return sealed.last_seq

    def record(self, **kwargs: Any) -> int:
        """Append an entry in a transaction of its own."""
        with self.store.begin() as conn:
            return self.append(conn, **kwargs)

    def head(self) -> tuple[int, str]:
        """(last sequence number, its MAC). :meth:`anchor` keeps the sealed head outside the database."""
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(audit_head.c.last_seq, audit_head.c.last_mac)
                               .where(audit_head.c.id == 1)).first()
        return (EMPTY_HEAD.last_seq, EMPTY_HEAD.last_mac) if row is None else (row.last_seq, row.last_mac)

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

    def between(self, start: datetime, end: datetime, *, batch: int = 1000) -> Iterator[list[AuditEntry]]:
        """Entries written from ``start`` to ``end`` (inclusive), in batches, oldest first."""
        after = -1
        while True:
            with self.store.begin(write=False) as conn:
                rows = conn.execute(select(audit_log).where(audit_log.c.seq > after, audit_log.c.at >= start,
                                                            audit_log.c.at <= end)
                                    .order_by(audit_log.c.seq).limit(batch)).all()
            if not rows:
                return
            yield [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, tuple(r.fields), dict(r.meta)) for r in rows]
            after = rows[-1].seq

    def verify(self, *, anchor: Anchor | None = None) -> VerifyReport:
        """Walk the whole chain and check its head, its base and its tail against ``anchor`` (by default the
        latest line of the anchor file), then every proof row against the digest in its audit entry. Raises
        :class:`AuditChainError` listing every problem found (its ``seq`` is the first bad entry);
        :class:`AuditAnchorError` when the anchor file cannot be read."""
        if anchor is None and self.anchor_file is not None:
            anchor = self.anchor_file.latest()
        with self.store.begin(write=False) as conn:
            report = ChainCheck(conn, self.macs, anchor).run()
            raise_problems(proof.check(conn))
        return report

    def anchor(self) -> Anchor | None:
        """Append the sealed head to the anchor file when it moved since the latest anchor; ``run-due``,
        ``audit verify`` and :meth:`truncate` call this. Returns the new anchor (``None``: no anchor file, empty
        log, or nothing new). Raises :class:`AuditChainError` rather than anchor a head that is not sealed
        right, does not name the newest entry or does not extend the latest anchor, and
        :class:`AuditAnchorError` when the file cannot be used."""
        if self.anchor_file is None:
            return None
        with self.anchor_file.writer() as out:
            latest = out.latest()
            with self.store.begin(write=False) as conn:
                head = ChainCheck.quick(conn, self.macs, latest)
            if head is None or (latest is not None and latest.head.same_position(head)):
                return None
            at = self.clock()
            out.append(head, at)
        log_anchor(head, at)
        return Anchor(head, at)

    def _anchor_quietly(self) -> None:
        try:
            self.anchor()
        except ShopPrivacyError as exc:  # the change is committed; run-due and verify report it again
            anchor_log.error("audit anchor not written: %s", exc)

    def truncate(self, *, before: datetime, actor: str = "retention") -> int:
        """Remove entries older than ``before``, keeping the chain verifiable: the base moves to the newest entry
        removed, an ``audit.truncated`` entry records it, and the anchor is updated. Returns how many went."""
        with self.store.begin() as conn:
            self.store.lock(conn, _LOCK)
            last = conn.execute(select(audit_log.c.seq, audit_log.c.mac).where(audit_log.c.at < before)
                                .order_by(audit_log.c.seq.desc()).limit(1)).first()
            if last is None:
                return 0
            head, stored = self._start(conn)
            gone = int(conn.execute(delete(audit_log).where(audit_log.c.seq <= last.seq)).rowcount)
            proof.purge_covered(conn, last.seq)
            moved = replace(head, base_seq=last.seq, base_mac=last.mac)
            head = self._write(conn, moved, actor, TRUNCATED, None, (), {"through_seq": last.seq, "removed": gone})
            self._save(conn, head, stored)
        self._anchor_quietly()
        return gone

    def seal(self) -> bool:
        """Seal a head that has no seal — one written by a development version from before heads were sealed —
        after verifying the chain, and record ``audit.head_sealed``. Returns ``False`` when the head is absent
        or already sealed (a wrong seal is never replaced: that is tampering, reported by :meth:`verify`)."""
        with self.store.begin() as conn:
            self.store.lock(conn, _LOCK)
            self._committed = None
            head, stored, trouble = current_head(conn, self.macs, lock=True)
            if not stored or trouble != "no seal":
                return False
            ChainCheck(conn, self.macs, None, unsealed_head_ok=True).run()
            head = self._write(conn, head, "system", HEAD_SEALED, None, (), {"found_seq": head.last_seq})
            self._save(conn, head, stored)
        self._anchor_quietly()
        return True
