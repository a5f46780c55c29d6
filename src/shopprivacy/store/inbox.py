"""Inbox: remembers webhook deliveries already accepted, so at-least-once delivery is processed once.

Accept a delivery in the same transaction as the outbox row that does its work::

    with sp.store.begin() as conn:
        if sp.inbox.accept(conn, source="shopify:s.myshopify.com", delivery_id=webhook_id, topic=topic):
            sp.outbox.enqueue(conn, "shopify.customers_redact", payload, idempotency_key=webhook_id)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..errors import InvalidInput
from .engine import Store
from .schema import inbox
from .types import utcnow


class Inbox:
    """Deduplication of incoming deliveries by (source, delivery id)."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def accept(self, conn: Connection, *, source: str, delivery_id: str, topic: str) -> bool:
        """Record the delivery in ``conn``'s transaction; False when it was already accepted."""
        if not (0 < len(source) <= 200 and 0 < len(delivery_id) <= 200 and 0 < len(topic) <= 120):
            raise InvalidInput("webhook source, delivery id and topic must be non-empty and short")
        ins = pg_insert(inbox) if self.store.dialect == "postgresql" else sqlite_insert(inbox)
        stmt = ins.values(source=source, delivery_id=delivery_id, topic=topic, received_at=self.clock())
        stmt = stmt.on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        return conn.execute(stmt.returning(inbox.c.delivery_id)).first() is not None

    def forget_before(self, before: datetime) -> int:
        """Drop records older than ``before`` (platforms stop retrying after a few days)."""
        with self.store.begin() as conn:
            return int(conn.execute(delete(inbox).where(inbox.c.received_at < before)).rowcount)

    def forget_source(self, conn: Connection, source: str) -> int:
        """Drop every record of one source (e.g. a shop that uninstalled the app)."""
        return int(conn.execute(delete(inbox).where(inbox.c.source == source)).rowcount)
