"""Tables of SMS marketing consent, in the shape of e-mail's (:class:`~shopprivacy.email.records.ConsentTables`)
so the same durable writes serve both. Numbers appear only as blind indexes and subject-key tokens."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from ..email.records import ConsentTables
from ..email.tables import consent_events_table, subscriptions_table, suppressions_table
from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Encryption context of the stored number (``sp_sms_subjects.address``); its row is the subject.
PHONE_CONTEXT = "sp_sms_subjects.address"

#: One row per number: subject pseudonym, blind index, E.164 number encrypted under the subject's key,
#: platform customer id and the recipient's time zone when the shop knows it.
sms_subjects = Table(
    "sp_sms_subjects",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("address_bidx", String(64), nullable=False, unique=True),
    Column("address", Text, nullable=True),  # token under the subject's own key: shredded on erasure
    Column("customer_ref", String(200), nullable=True),
    Column("time_zone", String(64), nullable=True),
    # the subject whose data key encrypts ``address``: a fresh one each time a number is held again after erasure
    Column("key_subject", String(80), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

#: Suppressed numbers by blind index, per program or for all ('*'); current state per subject and program;
#: append-only proof (opt-ins with the digest of the wording shown, confirmations, keyword opt-outs): the
#: e-mail channel's shapes.
sms_suppressions = suppressions_table("sms")
sms_subscriptions = subscriptions_table("sms")
sms_consent_events = consent_events_table("sms")

#: Opt-ins waiting for the code sent by text: only a keyed hash of the code is kept.
sms_pending = Table(
    "sp_sms_pending",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("address_bidx", String(64), nullable=False),
    Column("list_id", String(60), nullable=False),
    Column("text_version", String(120), nullable=False),
    Column("source", String(120), nullable=False),
    Column("ip_hash", String(90), nullable=True),
    Column("ua_hash", String(90), nullable=True),
    Column("code_hash", String(90), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("sends", Integer, nullable=False),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Index("ix_sp_sms_pending_lookup", "address_bidx", "list_id"),
    Index("ix_sp_sms_pending_expiry", "expires_at"),
)

#: The channel's tables for :mod:`shopprivacy.email.records`.
SMS = ConsentTables("sms", sms_subjects, sms_subscriptions, sms_suppressions, sms_consent_events)
