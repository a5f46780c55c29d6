"""Verification of the audit chain: every entry, the sealed head, the base left by truncation, the anchor.

Problems are collected, not just the first: a cut tail usually shows as a wrong head seal *and* a chain that
ends before the anchor, and each is reported on its own line. The walk over entries still stops at the first
broken entry, since nothing after it can be trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.types import NullType

from ..errors import AuditChainError, UnknownKeyError
from .audit_anchor import Anchor
from .audit_seal import EMPTY_HEAD, GENESIS, AuditHead, ChainMacs, same_mac
from .schema import audit_head, audit_log

#: Entry written by ``append`` when it finds the head missing or not sealed right (see ``AuditLog.append``).
BAD_HEAD = "audit.bad_head"
TRUNCATED = "audit.truncated"
_SEAL_PROBLEMS = {
    "no seal": "the audit head has no seal: it was written by hand (or by a development version from before heads "
               "were sealed: then run `shopprivacy audit seal` once)",
    "unknown key": "the audit head is sealed with key {key!r}, which is not in the keyset",
    "wrong seal": "the audit head's seal does not match it: the head was forged or edited",
}
_FOUND = {"no seal": "without a seal", "unknown key": "sealed with an unknown key", "wrong seal": "with a wrong seal",
          "missing": "missing"}


@dataclass(frozen=True)
class VerifyReport:
    """A chain that verified: how many entries, first and last sequence numbers, the last MAC, and the anchor
    its tail was checked against (``None``: no anchor, so a cut tail could not be detected)."""

    entries: int
    first_seq: int | None
    last_seq: int | None
    last_mac: str
    anchor: Anchor | None = None


_HEAD = select(audit_head).where(audit_head.c.id == 1)  # built once: the append path reads it every time


_HEAD_LOCKED = _HEAD.with_for_update()  # PostgreSQL: the row lock appenders take (SQLite: BEGIN IMMEDIATE)


def read_head(conn: Connection, *, lock: bool = False) -> AuditHead | None:
    row = conn.execute(_HEAD_LOCKED if lock and conn.dialect.name == "postgresql" else _HEAD).first()
    if row is None:
        return None
    return AuditHead(row.last_seq, row.last_mac, row.base_seq, row.base_mac, row.key_id, row.seal)


def current_head(conn: Connection, macs: ChainMacs, *, lock: bool = False) -> tuple[AuditHead, bool, str | None]:
    """(head to chain from, whether a head row exists, why it cannot be trusted or ``None``). A missing head is
    rebuilt from the newest and oldest entries (``missing``); an empty log starts from :data:`EMPTY_HEAD`.
    ``lock``: hold the head row until the transaction ends (PostgreSQL)."""
    head = read_head(conn, lock=lock)
    if head is not None:
        return head, True, macs.seal_problem(head)
    newest = conn.execute(select(audit_log.c.seq, audit_log.c.mac).order_by(audit_log.c.seq.desc()).limit(1)).first()
    if newest is None:
        return EMPTY_HEAD, False, None
    oldest = conn.execute(select(audit_log.c.seq, audit_log.c.prev_mac).order_by(audit_log.c.seq).limit(1)).one()
    return AuditHead(newest.seq, newest.mac, oldest.seq - 1, oldest.prev_mac), False, "missing"


def mac_at(conn: Connection, seq: int) -> str | None:
    mac: str | None = conn.execute(select(audit_log.c.mac).where(audit_log.c.seq == seq)).scalar()
    return mac


def newest_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(audit_log.c.seq), 0))).scalar_one())


def problem(kind: str, message: str, seq: int | None = None) -> AuditChainError:
    return AuditChainError(message, seq=seq, kind=kind)


def raise_problems(problems: list[AuditChainError]) -> None:
    """Raise one :class:`AuditChainError` carrying every problem (the first one's ``seq`` and ``kind``)."""
    if problems:
        seq = next((p.seq for p in problems if p.seq is not None), None)
        raise AuditChainError("; ".join(str(p) for p in problems), seq=seq, kind=problems[0].kind,
                              problems=tuple(problems))


def seal_problems(macs: ChainMacs, head: AuditHead) -> list[AuditChainError]:
    reason = macs.seal_problem(head)
    return [] if reason is None else [problem("head", _SEAL_PROBLEMS[reason].format(key=head.key_id))]


def wiped(anchor: Anchor | None) -> list[AuditChainError]:
    """The problem of a log whose entries and head are both gone, when ``anchor`` shows there were some."""
    if anchor is None or anchor.head.last_seq == 0:
        return []
    return [problem("wiped", f"the audit log and its head are gone but {anchor.describe()} names entry "
                             f"{anchor.head.last_seq}: the log was wiped", 1)]


def anchor_problems(macs: ChainMacs, anchor: Anchor, *, end_seq: int, base: tuple[int, str],
                    lookup: Callable[[int], str | None], tail_reported: int) -> list[AuditChainError]:
    """How the chain (ending at ``end_seq``, starting after ``base``) fails to extend ``anchor``.
    ``tail_reported``: the newest entry an earlier problem already reported missing (0: none)."""
    reason = macs.seal_problem(anchor.head)
    if reason is not None:
        return [problem("anchor", f"{anchor.describe()} does not verify ({reason}): it was edited or written with "
                                  "another keyset, so the tail was not checked")]
    a, (base_seq, base_mac), found = anchor.head, base, []
    if a.last_seq > end_seq and a.last_seq > tail_reported:
        cut = f"entry {a.last_seq} was" if a.last_seq == end_seq + 1 else f"entries {end_seq + 1}-{a.last_seq} were"
        found.append(problem("tail", f"the audit log ends at entry {end_seq} but {anchor.describe()} names entry "
                                     f"{a.last_seq}: {cut} cut off", end_seq + 1))
    elif base_seq < a.last_seq <= end_seq:
        mac = lookup(a.last_seq)
        if mac is not None and not same_mac(a.last_mac, mac):
            found.append(problem("tail", f"entry {a.last_seq} is not the one {anchor.describe()} names: the log was "
                                         "cut at or before it and written again", a.last_seq))
    elif a.last_seq == base_seq and not same_mac(a.last_mac, base_mac):
        found.append(problem("base", f"the base of the chain (entry {base_seq}) is not the entry "
                                     f"{anchor.describe()} names", base_seq))
    if base_seq < a.base_seq:
        found.append(problem("base", f"the chain starts after entry {base_seq} but {anchor.describe()} starts it "
                                     f"after entry {a.base_seq}: the head was replaced with an older one"))
    elif base_seq == a.base_seq and not same_mac(a.base_mac, base_mac):
        found.append(problem("base", f"the base of the chain (entry {base_seq}) differs from the one in "
                                     f"{anchor.describe()}: the head was replaced"))
    return found


@dataclass
class _Walk:
    """What walking the entries found."""

    base: tuple[int, str]
    end: tuple[int, str]
    count: int = 0
    first: int | None = None
    broken: bool = False
    truncated_through: set[int] = field(default_factory=set)
    bad_heads: list[tuple[int, Any, Any]] = field(default_factory=list)


class ChainCheck:
    """One full verification inside one read transaction."""

    def __init__(self, conn: Connection, macs: ChainMacs, anchor: Anchor | None, *,
                 unsealed_head_ok: bool = False) -> None:
        self.conn, self.macs, self.anchor = conn, macs, anchor
        self.unsealed_head_ok = unsealed_head_ok
        self.problems: list[AuditChainError] = []

    @staticmethod
    def quick(conn: Connection, macs: ChainMacs, anchor: Anchor | None) -> AuditHead | None:
        """The sealed head, after the checks that need no walk: its seal, that it names the newest entry, and
        that the chain extends ``anchor``. ``None`` for an empty log; :class:`AuditChainError` otherwise."""
        head, newest = read_head(conn), newest_seq(conn)
        if head is None:
            if newest:
                raise_problems([problem("head", "the audit head record is missing (deleted)")])
            raise_problems(wiped(anchor))
            return None
        found = seal_problems(macs, head)
        if newest != head.last_seq or not same_mac(head.last_mac, mac_at(conn, newest) or ""):
            found.append(problem("tail", f"the audit log ends at entry {newest} but its head names entry "
                                         f"{head.last_seq}: entries were removed from the end or the head was edited",
                                 min(newest, head.last_seq) + 1))
        if anchor is not None:
            found += anchor_problems(macs, anchor, end_seq=newest, base=(head.base_seq, head.base_mac),
                                     lookup=lambda seq: mac_at(conn, seq), tail_reported=head.last_seq)
        raise_problems(found)
        return head

    def run(self) -> VerifyReport:
        head = read_head(self.conn)
        walk = self._walk(head)
        if head is not None:
            self._tail_and_base(head, walk)
            if not (self.unsealed_head_ok and self.macs.seal_problem(head) == "no seal"):
                self.problems += seal_problems(self.macs, head)
        elif walk.count == 0 and not walk.broken:
            self.problems += wiped(self.anchor)
        elif self.anchor is not None:
            self._against_anchor(walk, tail_reported=0)
        for seq, found, reason in walk.bad_heads:
            self.problems.append(problem("head", f"entry {seq} records that the head was found "
                                                 f"{_FOUND.get(str(reason), 'forged')} when it was written (it named "
                                                 f"entry {found}): entries after {found} may have been cut off", seq))
        raise_problems(self.problems)
        return VerifyReport(walk.count, walk.first, walk.end[0] if walk.count else None, walk.end[1], self.anchor)

    def _tail_and_base(self, head: AuditHead, walk: _Walk) -> None:
        if walk.count == 0 and not walk.broken and head.last_seq > 0:
            named = f"its head names entry {head.last_seq}"
            if self.anchor is not None:
                named += f" and {self.anchor.describe()} entry {self.anchor.head.last_seq}"
            self.problems.append(problem("wiped", f"the audit log has no entries but {named}: the log was wiped",
                                         head.base_seq + 1))
            return
        tail_reported = 0
        end_seq, end_mac = walk.end
        if not walk.broken and (end_seq, end_mac) != (head.last_seq, head.last_mac):
            self.problems.append(problem("tail", f"the audit log ends at entry {end_seq} but its head names entry "
                                                 f"{head.last_seq}: entries were removed from the end or the head "
                                                 "was edited", min(end_seq, head.last_seq) + 1))
            tail_reported = head.last_seq
        if not walk.broken and head.base_seq > 0 and head.base_seq not in walk.truncated_through:
            self.problems.append(problem("base", f"entries up to {head.base_seq} are gone but no {TRUNCATED} entry "
                                                 "records their removal: they were deleted outside the SDK",
                                         head.base_seq))
        if self.anchor is not None:
            self._against_anchor(walk, tail_reported=tail_reported)

    def _against_anchor(self, walk: _Walk, *, tail_reported: int) -> None:
        assert self.anchor is not None
        end_seq = newest_seq(self.conn) if walk.broken else walk.end[0]
        self.problems += anchor_problems(self.macs, self.anchor, end_seq=end_seq, base=walk.base,
                                         lookup=lambda seq: mac_at(self.conn, seq), tail_reported=tail_reported)

    def _walk(self, head: AuditHead | None) -> _Walk:
        rows = self._rows()
        first_row = next(rows, None)
        if head is None:
            if first_row is None:
                rows.close()
                return _Walk(base=(0, GENESIS), end=(0, GENESIS))
            self.problems.append(problem("head", "the audit head record is missing (deleted)"))
            base = (first_row.seq - 1, first_row.prev_mac)
        else:
            base = (head.base_seq, head.base_mac)
        walk = _Walk(base=base, end=base)
        row = first_row
        while row is not None:
            if not self._entry_ok(row, walk):
                walk.broken = True
                break
            row = next(rows, None)
        rows.close()
        return walk

    def _entry_ok(self, row: Any, walk: _Walk) -> bool:
        expected, prev = walk.end[0] + 1, walk.end[1]
        if row.seq != expected:
            bad = expected if row.seq > expected else row.seq
            self.problems.append(problem("entry", f"audit entry {bad} is missing or out of place (deleted or "
                                                  "inserted)", bad))
            return False
        if row.prev_mac != prev:
            self.problems.append(problem("entry", f"audit entry {row.seq} does not follow entry {row.seq - 1} "
                                                  "(inserted or reordered)", row.seq))
            return False
        try:
            at, names, meta = decoded(row)
            mac = self.macs.entry(row.key_id, row.seq, at, row.actor, row.action, row.subject, names, meta,
                                  row.prev_mac)
        except AuditChainError as exc:
            self.problems.append(exc)
            return False
        except UnknownKeyError:
            self.problems.append(problem("entry", f"audit entry {row.seq} names key {row.key_id!r}, which is not in "
                                                  "the keyset", row.seq))
            return False
        if not same_mac(mac, row.mac):
            self.problems.append(problem("entry", f"audit entry {row.seq} was modified", row.seq))
            return False
        if row.action == TRUNCATED and isinstance(meta.get("through_seq"), int):
            walk.truncated_through.add(meta["through_seq"])
        elif row.action == BAD_HEAD:
            walk.bad_heads.append((row.seq, meta.get("found_seq"), meta.get("reason")))
        walk.first = row.seq if walk.first is None else walk.first
        walk.end, walk.count = (row.seq, row.mac), walk.count + 1
        return True

    def _rows(self) -> Generator[Any, None, None]:
        # Time, field names and meta come back as the driver gives them and are decoded by `decoded`, so a
        # hand-edited row is reported as a corrupt entry instead of failing inside a result processor.
        raw = [type_coerce(c, NullType()).label(c.name) if c.name in ("at", "fields", "meta") else c
               for c in audit_log.c]
        q = select(*raw).order_by(audit_log.c.seq).execution_options(yield_per=2000)  # this statement only
        result = self.conn.execute(q)
        try:
            yield from result
        finally:
            result.close()


def decoded(row: Any) -> tuple[datetime, list[str], dict[str, Any]]:
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
