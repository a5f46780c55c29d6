"""Tables of renewals (migration ``0005_renewals``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: One row per (subscription, billing period): claimed before the platform is asked to bill, so a worker
#: killed mid-way leaves a record and the retry reuses the same idempotency key.
renewal_attempts = Table(
    "sp_renewal_attempts",
    metadata,
    Column("subscription_id", String(200), primary_key=True),
    Column("period", String(40), primary_key=True),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # claimed | billed | pending | failed | skipped
    Column("owner", String(120), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("attempt_id", String(200), nullable=True),
    Column("order_id", String(200), nullable=True),
    Column("error_code", String(120), nullable=True),
    Column("cleaned_fields", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sp_renewal_attempts_status", "status", "updated_at"),
)
