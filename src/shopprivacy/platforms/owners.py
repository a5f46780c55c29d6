"""Subscription owners: the customer of each platform subscription, as last seen.

Deletion webhooks often carry the subscription id alone (WooCommerce sends ``{"id": N}``), and the platform
may no longer answer for a deleted subscription. Adapters remember the owner whenever a signed delivery or a
platform read shows it, so a deletion can still find the customer whose legal hold may have to go. Rows hold
platform ids only (no names, no e-mails); ``forget_customer`` drops a customer's rows on erasure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import InvalidInput
from ..store import Store, utcnow
from .tables import subscription_owners


class SubscriptionOwners:
    """``remember``/``owner_of``/``forget`` for one ``source`` (``woocommerce:<host>``, ...)."""

    def __init__(self, store: Store, source: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        if not 0 < len(source) <= 200:
            raise InvalidInput("a subscription-owner source is 1-200 characters")
        self.store, self.source, self.clock = store, source, clock

    def remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record (subscription id, customer id) pairs; a newer sighting replaces the owner."""
        pairs = list(pairs)
        if any(not 0 < len(sid) <= 64 or not 0 < len(cid) <= 64 for sid, cid in pairs):
            raise InvalidInput("subscription and customer ids are 1-64 characters")
        rows = [{"source": self.source, "subscription_id": sid, "customer_id": cid, "seen_at": self.clock()}
                for sid, cid in pairs]
        if not rows:
            return
        t = subscription_owners
        ins = pg_insert(t) if self.store.dialect == "postgresql" else sqlite_insert(t)
        stmt = ins.on_conflict_do_update(index_elements=[t.c.source, t.c.subscription_id],
                                         set_={"customer_id": ins.excluded.customer_id,
                                               "seen_at": ins.excluded.seen_at})
        with self.store.begin() as conn:
            conn.execute(stmt, rows)

    def owner_of(self, subscription_id: str) -> str | None:
        """The customer id last seen owning ``subscription_id``, or None."""
        t = subscription_owners
        with self.store.begin(write=False) as conn:
            found = conn.execute(select(t.c.customer_id).where(
                t.c.source == self.source, t.c.subscription_id == subscription_id)).scalar_one_or_none()
        return None if found is None else str(found)

    def forget(self, subscription_id: str) -> None:
        t = subscription_owners
        with self.store.begin() as conn:
            conn.execute(delete(t).where(t.c.source == self.source, t.c.subscription_id == subscription_id))

    def forget_customer(self, customer_id: str) -> int:
        """Drop every row of one customer (their erasure); returns how many."""
        t = subscription_owners
        with self.store.begin() as conn:
            return int(conn.execute(delete(t).where(t.c.source == self.source,
                                                    t.c.customer_id == customer_id)).rowcount)


__all__ = ["SubscriptionOwners"]
