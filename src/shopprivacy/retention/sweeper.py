"""Plan and sweep: count what each rule would touch, then enforce it in small batches.

Each batch is one short transaction (deletes and redactions) or one transaction per row (anonymise,
shred), is audited, and saves the job checkpoint; a sweep killed half-way resumes after the last batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, String, Table, and_, bindparam, cast, delete, func, not_, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from ..errors import RuleError, UnsupportedOperation
from ..store.engine import Store, make_engine
from ..store.schema import metadata
from ..store.types import UTCDateTime
from .rules import Rule
from .tables import legal_holds, retention_receipts

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..store.restrictions import SubjectRestrictions


@dataclass(frozen=True)
class PlanLine:
    """What a rule would do now: rows due (after exemptions) and rows exempt."""

    rule: str
    action: str
    entity: str
    due: int
    exempt: int


@dataclass(frozen=True)
class Receipt:
    """What a sweep did for one rule."""

    rule: str
    action: str
    entity: str
    cutoff: datetime
    processed: int
    exempt: int
    batches: int
    longest_tx_ms: int


class BatchSizer:
    """Batch sizes that keep a batch near ``target_ms``: after each batch the size is scaled by how far its time
    was from the target (at most halved or doubled per step, within ``1 .. high``). ``target_ms`` 0: fixed."""

    def __init__(self, start: int, target_ms: int, *, high: int = 10_000) -> None:
        self.high = max(1, high)
        self.size = min(max(1, start), self.high)
        self.target_ms = target_ms

    def record(self, rows: int, ms: float) -> int:
        """Take note that a batch of ``rows`` took ``ms``; returns the next size."""
        if self.target_ms <= 0 or rows <= 0:
            return self.size
        factor = min(2.0, max(0.5, self.target_ms / max(ms, 0.1)))
        self.size = min(self.high, max(1, round(rows * factor)))
        return self.size


class Target:
    """A rule bound to its table and engine."""

    def __init__(self, store: Store, rule: Rule, engines: dict[str, Engine],
                 restrictions: SubjectRestrictions | None = None) -> None:
        self.store, self.rule, self.restrictions = store, rule, restrictions
        self.same_db = rule.entity == "sdk"
        if self.same_db:
            self.engine = store.engine
        else:
            url = rule.database_url or ""
            if url not in engines:
                engines[url] = make_engine(url)
            self.engine = engines[url]
        assert rule.table is not None
        declared = metadata.tables.get(rule.table) if self.same_db else None
        try:
            self.table: Table = declared if declared is not None else Table(rule.table, MetaData(),
                                                                             autoload_with=self.engine)
        except Exception as exc:  # noqa: BLE001 - NoSuchTableError, OperationalError: name the rule
            raise RuleError(rule.name, f"cannot read table {rule.table!r} ({type(exc).__name__})") from None
        needed = {rule.key, rule.anchor, *rule.fields, *rule.where, *([rule.subject_column] if rule.subject_column
                                                                       else [])}
        needed |= {e.column for e in rule.exempt if e.column}
        missing = sorted(needed - set(self.table.c.keys()))
        if missing:
            raise RuleError(rule.name, f"table {rule.table!r} has no column(s) {', '.join(missing)}")

    def _col(self, name: str) -> Any:
        return self.table.c[name]

    def due_condition(self, cutoff: datetime) -> ColumnElement[bool]:
        """Rows past their period that the action would still change (exemptions not applied)."""
        rule = self.rule
        conds: list[ColumnElement[bool]] = [self._col(rule.anchor) < bindparam("cutoff", cutoff, type_=UTCDateTime)]
        conds += [self._col(k) == v for k, v in rule.where.items()]
        if rule.action == "redact":
            conds.append(or_(*(self._col(f).is_not(None) for f in rule.fields)))
        elif rule.action == "anonymise":
            conds.append(or_(*(self._col(f).is_not(None) if rule.replace.get(f) is None
                               else or_(self._col(f).is_(None), self._col(f) != rule.replace[f])
                               for f in rule.fields)))
        elif rule.action == "shred":
            assert rule.subject_column is not None
            conds.append(self._col(rule.subject_column).is_not(None))
        return and_(*conds)

    def exempt_condition(self) -> ColumnElement[bool] | None:
        conds: list[ColumnElement[bool]] = []
        for ex in self.rule.exempt:
            if ex.kind == "legal_hold":
                if self.same_db:
                    held = select(legal_holds.c.row_key).where(legal_holds.c.entity == self.rule.entity_name)
                    conds.append(cast(self._col(self.rule.key), String(200)).in_(held))
            elif ex.kind != "restricted":  # restricted subjects: matched in Python (blind indexes)
                assert ex.column is not None
                conds.append(self._col(ex.column).in_(ex.values))
        return or_(*conds) if conds else None

    def python_holds(self) -> bool:
        return any(e.kind == "restricted" for e in self.rule.exempt) or (
            not self.same_db and any(e.kind == "legal_hold" for e in self.rule.exempt))

    def held_keys(self) -> set[str]:
        """Keys kept out of the sweep in Python: legal holds of a table outside the SDK's database, and rows of
        people who restricted processing."""
        held: set[str] = set()
        if any(e.kind == "legal_hold" for e in self.rule.exempt):
            with self.store.begin(write=False) as conn:
                held = {r for (r,) in conn.execute(select(legal_holds.c.row_key)
                                                   .where(legal_holds.c.entity == self.rule.entity_name))}
        return held | self.restricted_keys()

    def restricted_keys(self) -> set[str]:
        """Keys of rows whose ``restricted`` exemption column names a person who restricted processing."""
        exemptions = [e for e in self.rule.exempt if e.kind == "restricted"]
        restrictions = self.restrictions
        if not exemptions or restrictions is None:
            return set()
        blocked = restrictions.blocked_index("retention")
        if not blocked:
            return set()
        out: set[str] = set()
        key = self._col(self.rule.key)
        with self.engine.connect() as conn:
            for ex in exemptions:
                assert ex.column is not None
                col = self._col(ex.column)
                for k, value in conn.execute(select(key, col).where(col.is_not(None))):
                    if restrictions.matches(blocked, {ex.identifier: str(value)}):
                        out.add(str(k))
        return out

    def count(self, cutoff: datetime) -> tuple[int, int]:
        """(due, exempt) now."""
        due = self.due_condition(cutoff)
        exempt = self.exempt_condition()
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(self.table).where(due)).scalar_one()
            n_exempt = 0 if exempt is None else conn.execute(
                select(func.count()).select_from(self.table).where(due, exempt)).scalar_one()
            if self.python_holds():
                held = self.held_keys()
                q = select(self._col(self.rule.key)).where(due)
                if exempt is not None:
                    q = q.where(not_(exempt))
                n_exempt += sum(1 for (k,) in conn.execute(q) if str(k) in held) if held else 0
        return int(total) - int(n_exempt), int(n_exempt)

    def next_batch(self, cutoff: datetime, after: Any, limit: int) -> list[Any]:
        key = self._col(self.rule.key)
        q = select(key).where(self.due_condition(cutoff))
        exempt = self.exempt_condition()
        if exempt is not None:
            q = q.where(not_(exempt))
        if after is not None:
            q = q.where(key > after)
        with self.engine.connect() as conn:
            keys = list(conn.execute(q.order_by(key).limit(limit)).scalars())
        return keys

    def apply(self, conn: Connection, keys: Sequence[Any], cutoff: datetime,
              shred: Callable[[str, Connection], Any] | None) -> int:
        """Apply the action to ``keys`` (re-checking the condition) in ``conn``'s transaction."""
        rule, key = self.rule, self._col(self.rule.key)
        cond = and_(key.in_(keys), self.due_condition(cutoff))
        if rule.action == "delete":
            return int(conn.execute(delete(self.table).where(cond)).rowcount)
        if rule.action == "redact":
            return int(conn.execute(update(self.table).where(cond).values(
                {f: None for f in rule.fields})).rowcount)
        if rule.action == "anonymise":
            return int(conn.execute(update(self.table).where(cond).values(
                {f: rule.replace.get(f) for f in rule.fields})).rowcount)
        assert rule.subject_column is not None
        assert shred is not None
        subj = self._col(rule.subject_column)
        done = 0
        for (subject,) in conn.execute(select(subj).where(cond)).all():
            shred(str(subject), conn)
            done += 1
        conn.execute(update(self.table).where(cond).values({rule.subject_column: None}))
        return done


def shredder(fields: Fields | None, store: Store, rule: Rule) -> Callable[[str, Connection], Any] | None:
    """``shred(subject, conn)``: in ``conn``'s transaction when the rule's table lives in the SDK's database
    (a second writer there would wait for this transaction), else in a transaction of its own."""
    if rule.action != "shred":
        return None
    if fields is None:
        raise UnsupportedOperation(f"retention rule {rule.name!r} shreds subject keys, which needs sp.fields "
                                   "(encrypted fields) in this installation")
    sdk_url = store.engine.url

    def shred(subject: str, conn: Connection) -> Any:
        if conn.engine.url == sdk_url:
            return fields.shred(subject, actor="retention", conn=conn)
        return fields.shred(subject, actor="retention")

    return shred


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    n = fn()
    return n, (time.perf_counter() - started) * 1000


def write_receipt(conn: Connection, receipt: Receipt, started: datetime, finished: datetime) -> None:
    conn.execute(retention_receipts.insert().values(
        rule=receipt.rule, entity=receipt.entity, action=receipt.action, cutoff=receipt.cutoff,
        processed=receipt.processed, exempt=receipt.exempt, batches=receipt.batches,
        longest_tx_ms=receipt.longest_tx_ms, started_at=started, finished_at=finished))
