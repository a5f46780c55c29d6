"""Outbox: every side effect on a platform is first a row, then delivered by ``run-due`` with retries.

A row is enqueued in the same transaction as the change that causes it, so it is never lost. Delivery
claims one due row at a time, just before delivering it (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), under a lease that a heartbeat renews while the handler runs: two
concurrent ``run-due`` never deliver one row at the same time, however long a delivery takes, and a row
whose worker died is claimed again when its lease ends. Failures back off exponentially with full jitter,
a ``Retry-After`` reported by the handler is respected, and rows that keep failing become dead letters.

Ordering. A row may carry an ``ordering_key`` naming one piece of platform state, e.g. a subject's
marketing consent on one list (``email.marketing_consent:<subject pseudonym>:<list>``: pseudonyms only,
never personal data in clear). Every row of a key carries the whole state, and the row id is its sequence
(the change and its row commit together, so later changes of one state get higher ids). Hence:

- a row is not claimed while another row of its key is being delivered under a live lease;
- only the newest row of a key is ever claimed; older rows of the key that are still waiting (pending,
  or left behind by a worker whose lease ran out) are marked ``superseded`` at the start of each run and
  never delivered, so a late retry of an old state cannot land after a newer one.

Claims take a transaction-scoped advisory lock on PostgreSQL (SQLite's write lock already serialises
them), so a claim always sees the rows other workers claimed before it.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import ReturningUpdate

from ..errors import (
    InvalidInput,
    NotFoundError,
    PermanentFailure,
    PlatformError,
    RetryLater,
    ShopPrivacyError,
)
from .engine import Store
from .heartbeat import Heartbeat
from .outbox_settings import OutboxSettings
from .schema import outbox
from .types import UTCDateTime, utcnow

log = logging.getLogger("shopprivacy.outbox")

#: Advisory lock serialising claims on PostgreSQL.
CLAIM_LOCK = "shopprivacy:outbox-claim"


@dataclass(frozen=True)
class Delivery:
    """What a handler receives: the payload and the idempotency key to pass to the platform."""

    id: int
    topic: str
    payload: Mapping[str, Any]
    idempotency_key: str
    attempt: int


Handler = Callable[[Delivery], None]


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    #: Older rows of an ordering key made pointless by a newer row, marked and never delivered.
    superseded: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def worker_id() -> str:
    """``host:pid:nonce``, a new owner for each lease or claim taken: two runs in one process (threads or
    greenlets of a task-queue pool) never take each other's claims for their own."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def _error_text(exc: BaseException) -> str:
    # ShopPrivacyError messages are written to hold no personal data; others may, so keep only the type.
    if isinstance(exc, ShopPrivacyError):
        return f"{type(exc).__name__}: {exc}"[:500]
    return type(exc).__name__


class Outbox:
    """Durable queue of platform side effects."""

    def __init__(self, store: Store, settings: OutboxSettings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.handlers: dict[str, Handler] = {}
        self._enqueue: Any = None

    def register(self, topic: str, handler: Handler) -> None:
        """Deliver rows of ``topic`` with ``handler``; it must raise on failure and be idempotent."""
        self.handlers[topic] = handler

    def enqueue(self, conn: Connection, topic: str, payload: Mapping[str, Any], *, idempotency_key: str,
                delay: timedelta = timedelta(0), ordering_key: str | None = None) -> bool:
        """Add a row inside ``conn``'s transaction. A second row with the same key is ignored (False).

        ``ordering_key`` (1-200 characters, no personal data) makes the row one in a sequence of states of one
        thing: delivered after the older rows of the key, and superseding those still waiting.
        """
        values = self._values(topic, payload, idempotency_key, ordering_key, self.clock() + delay)
        return conn.execute(self._insert(), values).first() is not None

    def enqueue_many(self, conn: Connection, topic: str,
                     rows: Sequence[tuple[Mapping[str, Any], str, str | None]]) -> None:
        """Add rows of ``topic`` (payload, idempotency key, ordering key), due now, in one statement inside
        ``conn``'s transaction, in the order given; a row whose key is already queued is ignored."""
        if not rows:
            return
        due = self.clock()
        conn.execute(self._insert(), [self._values(topic, payload, key, ordering, due)
                                      for payload, key, ordering in rows])

    def _values(self, topic: str, payload: Mapping[str, Any], idempotency_key: str, ordering_key: str | None,
                due: datetime) -> dict[str, Any]:
        if not topic or len(topic) > 120 or not idempotency_key or len(idempotency_key) > 200:
            raise InvalidInput("outbox topic must be 1-120 and idempotency key 1-200 characters")
        if ordering_key is not None and not 0 < len(ordering_key) <= 200:
            raise InvalidInput("an outbox ordering key must be 1-200 characters")
        now = self.clock()
        return dict(topic=topic, idempotency_key=idempotency_key, payload=dict(payload), status="pending",
                    attempts=0, next_attempt_at=due, created_at=now, updated_at=now, ordering_key=ordering_key)

    def _insert(self) -> Any:
        if self._enqueue is None:  # built once: compiling the upsert costs more than running it
            ins = pg_insert(outbox) if self.store.dialect == "postgresql" else sqlite_insert(outbox)
            self._enqueue = ins.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(outbox.c.id)
        return self._enqueue

    def waiting(self, conn: Connection, ordering_key: str) -> list[Mapping[str, Any]]:
        """Payloads of the rows of ``ordering_key`` not delivered yet (pending or being delivered), oldest
        first: a new row of the key supersedes them, so it may need to carry what they carry."""
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.ordering_key == ordering_key,
                                                           outbox.c.status.in_(("pending", "delivering")))
                            .order_by(outbox.c.id)).scalars().all()
        return [dict(p) for p in rows if isinstance(p, Mapping)]

    def _claim(self, owner: str) -> Any | None:
        """Lease the next due row whose turn it is (see the module docstring) to ``owner``; None if none."""
        return self._settle_and_claim(owner, None, claim=True)

    def _finish(self, row_id: int, owner: str, **values: Any) -> None:
        """Settle a row with ``values`` (status and times)."""
        self._settle_and_claim(owner, (row_id, values), claim=False)

    def _settle_and_claim(self, owner: str, settled: tuple[int, dict[str, Any]] | None, *,
                          claim: bool) -> Any | None:
        """One transaction: settle the row just delivered, then (``claim``) lease the next row whose turn it
        is. Only the lease holder may settle a row: a worker that outlived its lease changes nothing."""
        now = self.clock()
        with self.store.begin() as conn:
            self.store.lock(conn, CLAIM_LOCK)
            if settled is not None:
                row_id, values = settled
                if not conn.execute(update(outbox).where(
                        outbox.c.id == row_id, outbox.c.leased_by == owner, outbox.c.status == "delivering")
                        .values(**values, updated_at=now)).rowcount:
                    log.warning("outbox row %s was taken over before its delivery was recorded", row_id)
            if not claim:
                return None
            until = now + timedelta(seconds=self.settings.lease_seconds)
            return conn.execute(_lease_next(self.store.dialect), {"now": now, "until": until, "owner": owner}).first()

    def _supersede(self) -> int:
        """Mark rows that a newer row of their ordering key made pointless; returns how many."""
        now = self.clock()
        waiting = or_(outbox.c.status == "pending", and_(outbox.c.status == "delivering", outbox.c.lease_until < now))
        with self.store.begin() as conn:
            self.store.lock(conn, CLAIM_LOCK)
            return int(conn.execute(update(outbox).where(outbox.c.ordering_key.is_not(None), waiting,
                                                         _has_newer(outbox))
                                    .values(status="superseded", lease_until=None, done_at=now,
                                            updated_at=now)).rowcount)

    def _renew(self, owner: str) -> None:
        """Push forward the lease of the row ``owner`` is delivering (none once it is settled)."""
        until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
        with self.store.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.leased_by == owner, outbox.c.status == "delivering")
                         .values(lease_until=until))

    def _backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        cap = min(self.settings.max_delay_seconds, self.settings.base_delay_seconds * 2 ** (attempts - 1))
        delay = random.uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return timedelta(seconds=delay)

    def deliver_due(self, *, limit: int | None = None, owner: str | None = None) -> DeliveryReport:
        """Deliver due rows, claiming each just before its delivery, until none is left (or ``limit`` rows
        were tried). Recording a delivery and claiming the next row share one transaction."""
        owner = owner or worker_id()
        report, tried = DeliveryReport(superseded=self._supersede()), 0
        row = self._claim(owner) if limit is None or limit > 0 else None
        if row is None:
            return report
        # ``owner`` is this run's own and holds one row at a time: the row being delivered.
        with Heartbeat(lambda: self._renew(owner), interval=self.settings.lease_seconds / 3,
                       name=f"outbox run {owner}"):
            while row is not None:
                tried += 1
                settled = (row.id, self._deliver(row, report))
                row = self._settle_and_claim(owner, settled, claim=limit is None or tried < limit)
        return report

    def _deliver(self, row: Any, report: DeliveryReport) -> dict[str, Any]:
        """Run the row's handler; the values to settle the row with."""
        attempt = row.attempts  # counted when the row was leased
        handler = self.handlers.get(row.topic)
        try:
            if handler is None:
                raise RetryLater(f"no handler is registered for outbox topic {row.topic!r}")
            handler(Delivery(row.id, row.topic, row.payload, row.idempotency_key, attempt))
        except Exception as exc:  # noqa: BLE001 - every handler failure is recorded, none escapes
            return self._failed(row, attempt, exc, report)
        report.delivered += 1
        return {"status": "done", "done_at": self.clock(), "lease_until": None, "last_error": None}

    def _failed(self, row: Any, attempt: int, exc: Exception, report: DeliveryReport) -> dict[str, Any]:
        text = _error_text(exc)
        report.errors[type(exc).__name__] = report.errors.get(type(exc).__name__, 0) + 1
        permanent = isinstance(exc, PermanentFailure) or (isinstance(exc, PlatformError) and not exc.retryable)
        if permanent or attempt >= self.settings.max_attempts:
            report.dead += 1
            log.warning("outbox row %s (%s) is a dead letter after %s attempts: %s", row.id, row.topic,
                        attempt, text)
            return {"status": "dead", "last_error": text, "lease_until": None}
        retry_after = getattr(exc, "retry_after", None)
        when = self.clock() + self._backoff(attempt, retry_after)
        report.retried += 1
        log.info("outbox row %s (%s) attempt %s failed (%s); next at %s", row.id, row.topic, attempt, text,
                 when.isoformat())
        return {"status": "pending", "last_error": text, "lease_until": None, "next_attempt_at": when}

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
        return {status: int(n) for status, n in rows}

    def dead_letters(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Dead rows: id, topic, attempts, last error, times (payloads are left out)."""
        cols = [outbox.c.id, outbox.c.topic, outbox.c.attempts, outbox.c.last_error, outbox.c.created_at,
                outbox.c.updated_at]
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(*cols).where(outbox.c.status == "dead").order_by(outbox.c.id)
                                .limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def requeue(self, row_id: int) -> None:
        """Give a dead letter a fresh set of attempts."""
        now = self.clock()
        with self.store.begin() as conn:
            n = conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.status == "dead").values(
                status="pending", attempts=0, next_attempt_at=now, updated_at=now)).rowcount
        if not n:
            raise NotFoundError(f"outbox row {row_id} is not a dead letter")

    def add(self, topic: str, payload: Mapping[str, Any], *, idempotency_key: str,
            ordering_key: str | None = None) -> bool:
        """Enqueue in a transaction of its own."""
        with self.store.begin() as conn:
            return self.enqueue(conn, topic, payload, idempotency_key=idempotency_key, ordering_key=ordering_key)


@functools.cache
def _lease_next(dialect: str) -> ReturningUpdate[Any]:
    """Lease the next row whose turn it is and return it (parameters ``now``, ``until``, ``owner``).

    The candidate is the oldest row whose worker let its lease run out, else the next pending row that is due;
    each candidate query walks the ``(status, next_attempt_at)`` index instead of sorting every due row. The
    outer condition checks the row again when it is locked, so a row changed meanwhile is left alone. Built
    once per dialect: building the statement costs more than running it.
    """
    now = bindparam("now", type_=UTCDateTime())
    c = outbox.alias("candidate")
    expired = (select(c.c.id).where(c.c.status == "delivering", c.c.lease_until < now, _its_turn(c, now))
               .order_by(c.c.lease_until, c.c.id).limit(1))
    pending = (select(c.c.id).where(c.c.status == "pending", c.c.next_attempt_at <= now, _its_turn(c, now))
               .order_by(c.c.next_attempt_at, c.c.id).limit(1))
    if dialect == "postgresql":
        expired, pending = expired.with_for_update(skip_locked=True), pending.with_for_update(skip_locked=True)
    due = or_(and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
              and_(outbox.c.status == "delivering", outbox.c.lease_until < now))
    return (update(outbox).where(outbox.c.id == func.coalesce(expired.scalar_subquery(), pending.scalar_subquery()),
                                 due)
            .values(status="delivering", lease_until=bindparam("until", type_=UTCDateTime()),
                    leased_by=bindparam("owner"), attempts=outbox.c.attempts + 1, updated_at=now)
            .returning(*outbox.c))


def _has_newer(rows: FromClause) -> ColumnElement[bool]:
    """A later row of the same ordering key exists (``rows`` is ``sp_outbox`` or an alias of it)."""
    newer = outbox.alias("newer")
    return exists().where(newer.c.ordering_key == rows.c.ordering_key, newer.c.id > rows.c.id)


def _its_turn(rows: FromClause, now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """No ordering key; or the newest row of its key, while no other row of the key is being delivered."""
    busy = outbox.alias("busy")
    in_flight = exists().where(busy.c.ordering_key == rows.c.ordering_key, busy.c.id != rows.c.id,
                               busy.c.status == "delivering", busy.c.lease_until >= now)
    return or_(rows.c.ordering_key.is_(None), and_(~_has_newer(rows), ~in_flight))


__all__ = ["CLAIM_LOCK", "Delivery", "DeliveryReport", "Handler", "Outbox", "worker_id"]
