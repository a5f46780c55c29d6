"""Outbox: every side effect on a platform is first a row, then delivered by ``run-due`` with retries.

A row is enqueued in the same transaction as the change that causes it, so it is never lost. Delivery
claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) under a lease,
so two concurrent ``run-due`` never deliver one row at the same time, and a row whose worker died is
claimed again when the lease ends. Failures back off exponentially with full jitter, a ``Retry-After``
reported by the handler is respected, and rows that keep failing become dead letters.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..errors import (
    InvalidInput,
    NotFoundError,
    PermanentFailure,
    PlatformError,
    RetryLater,
    ShopPrivacyError,
)
from ..settings import OutboxSettings
from .engine import Store
from .schema import outbox
from .types import utcnow

log = logging.getLogger("shopprivacy.outbox")


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
                delay: timedelta = timedelta(0)) -> bool:
        """Add a row inside ``conn``'s transaction. A second row with the same key is ignored (False)."""
        if not topic or len(topic) > 120 or not idempotency_key or len(idempotency_key) > 200:
            raise InvalidInput("outbox topic must be 1-120 and idempotency key 1-200 characters")
        now = self.clock()
        values = dict(topic=topic, idempotency_key=idempotency_key, payload=dict(payload), status="pending",
                      attempts=0, next_attempt_at=now + delay, created_at=now, updated_at=now)
        if self._enqueue is None:  # built once: compiling the upsert costs more than running it
            ins = pg_insert(outbox) if self.store.dialect == "postgresql" else sqlite_insert(outbox)
            self._enqueue = ins.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(outbox.c.id)
        return conn.execute(self._enqueue, values).first() is not None

    def _claim(self, limit: int, owner: str) -> Sequence[Any]:
        now = self.clock()
        due = or_(
            and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
            and_(outbox.c.status == "delivering", outbox.c.lease_until < now),
        )
        q = select(outbox).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
        if self.store.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        with self.store.begin() as conn:
            rows = conn.execute(q).all()
            if rows:
                conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(
                    status="delivering", lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                    leased_by=owner, attempts=outbox.c.attempts + 1, updated_at=now))
        return rows

    def _backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        cap = min(self.settings.max_delay_seconds, self.settings.base_delay_seconds * 2 ** (attempts - 1))
        delay = random.uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return timedelta(seconds=delay)

    def _finish(self, row_id: int, owner: str, **values: Any) -> None:
        values["updated_at"] = self.clock()
        with self.store.begin() as conn:
            # Only the lease holder may settle the row: a worker that outlived its lease changes nothing.
            conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.leased_by == owner,
                                              outbox.c.status == "delivering").values(**values))

    def deliver_due(self, *, limit: int | None = None, owner: str | None = None) -> DeliveryReport:
        """Deliver due rows until none is left (or ``limit`` rows were tried)."""
        owner = owner or worker_id()
        report, tried = DeliveryReport(), 0
        while limit is None or tried < limit:
            batch = self.settings.batch_size if limit is None else min(self.settings.batch_size, limit - tried)
            rows = self._claim(batch, owner)
            if not rows:
                break
            for row in rows:
                tried += 1
                self._deliver_one(row, owner, report)
        return report

    def _deliver_one(self, row: Any, owner: str, report: DeliveryReport) -> None:
        attempt = row.attempts + 1
        handler = self.handlers.get(row.topic)
        try:
            if handler is None:
                raise RetryLater(f"no handler is registered for outbox topic {row.topic!r}")
            handler(Delivery(row.id, row.topic, row.payload, row.idempotency_key, attempt))
        except Exception as exc:  # noqa: BLE001 - every handler failure is recorded, none escapes
            text = _error_text(exc)
            report.errors[type(exc).__name__] = report.errors.get(type(exc).__name__, 0) + 1
            permanent = isinstance(exc, PermanentFailure) or (isinstance(exc, PlatformError) and not exc.retryable)
            if permanent or attempt >= self.settings.max_attempts:
                self._finish(row.id, owner, status="dead", last_error=text, lease_until=None)
                report.dead += 1
                log.warning("outbox row %s (%s) is a dead letter after %s attempts: %s", row.id, row.topic,
                            attempt, text)
                return
            retry_after = getattr(exc, "retry_after", None)
            when = self.clock() + self._backoff(attempt, retry_after)
            self._finish(row.id, owner, status="pending", last_error=text, lease_until=None,
                         next_attempt_at=when)
            report.retried += 1
            log.info("outbox row %s (%s) attempt %s failed (%s); next at %s", row.id, row.topic, attempt, text,
                     when.isoformat())
            return
        self._finish(row.id, owner, status="done", done_at=self.clock(), lease_until=None, last_error=None)
        report.delivered += 1

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

    def add(self, topic: str, payload: Mapping[str, Any], *, idempotency_key: str) -> bool:
        """Enqueue in a transaction of its own."""
        with self.store.begin() as conn:
            return self.enqueue(conn, topic, payload, idempotency_key=idempotency_key)


__all__ = ["Delivery", "DeliveryReport", "Handler", "Outbox", "worker_id"]
