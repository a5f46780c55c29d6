"""Tables of rights requests. Identifiers are stored only as field tokens (bound to their row) and blind
indexes; receipts hold field names, outcomes and reasons, never values."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: One row per request: kind, state, regime, deadlines, verification, retries.
requests = Table(
    "sp_rights_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # export | rectify | erase | restrict | object | opt_out_sale
    Column("state", String(16), nullable=False),  # received | verified | in_progress | extended | done | ...
    Column("regime", String(8), nullable=False),  # gdpr | ccpa
    Column("channel", String(40), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("external_id", String(200), nullable=True, unique=True),
    Column("subject", String(64), nullable=False),  # pseudonym for the audit log
    Column("verified_by", String(40), nullable=True),
    Column("forwarded_by", String(40), nullable=True),  # the platform that forwarded it (webhook), if any
    Column("verified_at", UTCDateTime, nullable=True),
    Column("verify_expires_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("acknowledge_by", UTCDateTime, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("extended_at", UTCDateTime, nullable=True),
    Column("extension_reason", String(200), nullable=True),
    Column("reject_reason", String(200), nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("changes", Text, nullable=True),  # rectify: field token of the corrections
    Column("consent_ref", Text, nullable=True),  # field token of the requester's cookie-consent id
    Column("orders", Text, nullable=True),  # field token of the order ids the platform named (JSON list)
    Column("ip_hash", String(90), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("cancel_until", UTCDateTime, nullable=True),  # erasure grace window: cancellable until then
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sp_rights_requests_work", "state", "next_attempt_at"),
    Index("ix_sp_rights_requests_due", "state", "due_at"),
    Index("ix_sp_rights_requests_ip", "ip_hash", "received_at"),
)

#: The identifiers of a request: token (dropped when no longer needed), blind index (kept as proof).
identifiers = Table(
    "sp_rights_identifiers",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),  # email | phone | customer_id
    Column("value", Text, nullable=True),
    Column("bidx", String(64), nullable=False),
    Column("origin", String(16), nullable=False),  # request | platform | resolved
    Column("verified_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sp_rights_identifiers_bidx", "bidx", "created_at"),
)

#: Progress of each source for one request, with its per-field receipt.
steps = Table(
    "sp_rights_steps",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("source", String(80), primary_key=True),
    Column("status", String(12), nullable=False),  # done | pending | accepted | failed
    Column("receipt", JSON, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Export archives waiting for their single download, encrypted under a key wrapped by the subject's key.
exports = Table(
    "sp_rights_exports",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("archive", LargeBinary, nullable=True),
    Column("wrapped_key", Text, nullable=True),
    Column("nonce_hash", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("downloaded_at", UTCDateTime, nullable=True),
)

#: Shop-wide redactions (a platform uninstall, Shopify ``shop/redact``), idempotent by external id.
redactions = Table(
    "sp_rights_redactions",
    metadata,
    Column("external_id", String(200), primary_key=True),
    Column("state", String(12), nullable=False),  # done | failed
    Column("receipt", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
)

#: One row per identifier blind index and per client IP hash each time a request is opened (rate limits).
attempts = Table(
    "sp_rights_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(90), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sp_rights_attempts_key", "key", "at"),
)
