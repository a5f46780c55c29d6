"""Tables of the e-mail consent capability. Addresses appear only as blind indexes and subject-key tokens."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from ..store import proof
from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Encryption context of the stored address (``sp_email_subjects.address``); its row is the subject.
EMAIL_ADDRESS_CONTEXT = "sp_email_subjects.address"

#: One row per address the SDK mails: its subject pseudonym, blind index, encrypted address, platform id.
email_subjects = Table(
    "sp_email_subjects",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("address_bidx", String(64), nullable=False, unique=True),
    Column("address", Text, nullable=True),  # token under the subject's own key: shredded on erasure
    Column("customer_ref", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

def suppressions_table(channel: str) -> Table:
    """``sp_<channel>_suppressions``: suppressed identifiers by blind index, per list or for all lists ('*').
    Survives erasure of the customer. The e-mail and SMS channels share the shape."""
    return Table(
        f"sp_{channel}_suppressions",
        metadata,
        Column("address_bidx", String(64), primary_key=True),
        Column("list_id", String(60), primary_key=True),
        Column("reason", String(40), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )


def subscriptions_table(channel: str) -> Table:
    """``sp_<channel>_subscriptions``: current state per subject and list (subscribed | unsubscribed | paused)."""
    return Table(
        f"sp_{channel}_subscriptions",
        metadata,
        Column("subject", String(64), primary_key=True),
        Column("list_id", String(60), primary_key=True),
        Column("state", String(16), nullable=False),
        Column("opt_in_level", String(20), nullable=False),
        Column("paused_until", UTCDateTime, nullable=True),
        Column("updated_at", UTCDateTime, nullable=False),
    )


def consent_events_table(channel: str) -> Table:
    """``sp_<channel>_consent_events``: append-only proof of every opt-in, confirmation, opt-out and preference
    change, each row covered by the audit chain (:mod:`shopprivacy.store.proof`)."""
    return proof.register(Table(
        f"sp_{channel}_consent_events",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("subject", String(64), nullable=False),
        Column("address_bidx", String(64), nullable=False),
        Column("list_id", String(60), nullable=False),
        Column("action", String(30), nullable=False),
        Column("text_version", String(120), nullable=True),
        Column("source", String(120), nullable=True),
        Column("ip_hash", String(90), nullable=True),
        Column("ua_hash", String(90), nullable=True),
        Column("at", UTCDateTime, nullable=False),
        Index(f"ix_sp_{channel}_consent_events_bidx", "address_bidx"),
    ))


suppressions = suppressions_table("email")
subscriptions = subscriptions_table("email")
consent_events = consent_events_table("email")

#: Double opt-in requests waiting for confirmation.
pending_opt_ins = Table(
    "sp_email_pending_opt_ins",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("address_bidx", String(64), nullable=False),
    Column("list_id", String(60), nullable=False),
    Column("text_version", String(120), nullable=False),
    Column("source", String(120), nullable=False),
    Column("ip_hash", String(90), nullable=True),
    Column("ua_hash", String(90), nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("sends", Integer, nullable=False),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    # blind index of the address's mailbox form (shopprivacy.limits): its variants share one mail limit
    Column("limit_key", String(64), nullable=True),
    Index("ix_sp_email_pending_lookup", "address_bidx", "list_id"),
    Index("ix_sp_email_pending_expiry", "expires_at"),
    Index("ix_sp_email_pending_limit", "limit_key", "list_id"),
)
