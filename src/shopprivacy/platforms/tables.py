"""Tables the platform adapters share (migration ``0007_subscription_owners``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Which platform customer owns a platform subscription, as last seen in a signed webhook or a platform read.
#: A deletion webhook often carries the subscription id alone (WooCommerce: ``{"id": N}``); this row lets
#: the adapter find the customer whose legal hold may have to be released.
subscription_owners = Table(
    "sp_subscription_owners",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("subscription_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_sp_subscription_owners_customer", "source", "customer_id"),
)
