"""Tables of the foundation. Every table is prefixed ``sp_`` so it can live in the shop's own database.

Capabilities declare their tables on the same :data:`metadata` in their own packages; the Alembic
migrations under ``store/migrations/versions`` create them.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from .types import UTCDateTime

metadata = MetaData()

#: Append-only audit log, HMAC-chained. Values are never stored: only names and pseudonyms.
audit_log = Table(
    "sp_audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(120), nullable=False),
    Column("subject", String(120), nullable=True),
    Column("fields", JSON, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("key_id", String(12), nullable=False),
    Column("prev_mac", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)

#: One row (id=1): the last entry of the chain and the base left by truncation of old entries, sealed with the
#: audit key (``seal`` under ``key_id``; NULL only in rows written before heads were sealed).
audit_head = Table(
    "sp_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_mac", String(64), nullable=False),
    Column("base_seq", BigInteger, nullable=False),
    Column("base_mac", String(64), nullable=False),
    Column("key_id", String(12), nullable=True),
    Column("seal", String(64), nullable=True),
)

#: Pending side effects on platforms, delivered by ``run-due`` with retries.
outbox = Table(
    "sp_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("topic", String(120), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivering | done | dead | superseded
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("leased_by", String(120), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    #: Rows sharing a key carry successive states of one thing (a subject's consent on one list): delivered
    #: one at a time in ``id`` order, and only the newest one (see :mod:`shopprivacy.store.outbox`).
    Column("ordering_key", String(200), nullable=True),
    Index("ix_sp_outbox_due", "status", "next_attempt_at", "id"),  # claim order: read off the index
    Index("ix_sp_outbox_ordering", "ordering_key", "id"),
)

#: Checkpoints and leases of long jobs (re-encrypt, retention, renewals, export).
jobs = Table(
    "sp_jobs",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("checkpoint", JSON, nullable=True),
    Column("status", String(16), nullable=False),  # running | done
    Column("lease_owner", String(120), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("processed", BigInteger, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
)

#: Webhook deliveries already accepted, per source (``shopify:<shop>``, ``woocommerce:<site>``): dedupe key.
inbox = Table(
    "sp_inbox",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("topic", String(120), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_sp_inbox_received", "received_at"),
)
