"""Tables of the breach register. Counts, categories, texts the operator wrote and subject pseudonyms only:
never an address or another identifier in clear."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: One row per breach (GDPR Art. 33(5): every breach is documented, reported or not).
breaches = Table(
    "sp_breaches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # open | closed
    Column("aware_at", UTCDateTime, nullable=False),  # when the shop became aware: the 72 hours start here
    Column("authority_due_at", UTCDateTime, nullable=False),
    Column("authority", String(16), nullable=False),  # pending | reported | not_required
    Column("reported_at", UTCDateTime, nullable=True),
    Column("report_reference", String(200), nullable=True),
    Column("delay_reason", Text, nullable=True),  # Art. 33(1): reasons for a report later than 72 hours
    Column("not_required_reason", Text, nullable=True),
    Column("incident", JSON, nullable=False),  # the validated incident (texts, categories, counts, scope)
    Column("assessment", JSON, nullable=True),  # what the register computed from the SDK's data
    Column("exemption", Text, nullable=True),  # Art. 34(3) reason when subjects need no notice
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Index("ix_sp_breaches_due", "state", "authority", "authority_due_at"),
)

#: Every step of a breach, in order (Art. 33(4): information given in phases); each is also in the audit chain.
breach_events = Table(
    "sp_breach_events",
    metadata,
    Column("breach_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("changed", JSON, nullable=False),  # names of what changed, and counts
)

#: The subjects a breach affects, by pseudonym, and the notice to each (Art. 34), tracked per recipient.
breach_subjects = Table(
    "sp_breach_subjects",
    metadata,
    Column("breach_id", String(32), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("via", String(200), nullable=False),  # the in-scope stores (and ``audit``) that named the subject
    Column("intelligible", Boolean, nullable=False),  # some data of the subject in scope is held in clear
    Column("reachable", Boolean, nullable=False),  # the SDK knows an address to mail the notice to
    # not_needed (Art. 34(3)) | to_send | queued | sent | unreachable (no address, or erased meanwhile) | failing
    Column("notice", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=True),
    Column("queued_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_sp_breach_subjects_notice", "breach_id", "notice"),
)
