"""Tables of the data declaration."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Names (never values) of cookies the shop's responses set, watched in development for the drift check.
observed_cookies = Table(
    "sp_observed_cookies",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("seen", Integer, nullable=False),
)

#: That a person said (or showed) they are over the age threshold, and when: never their birth date or age.
age_confirmations = Table(
    "sp_age_confirmations",
    metadata,
    Column("subject", String(64), primary_key=True),  # keyed pseudonym of the shop's customer id or e-mail
    Column("country", String(2), nullable=True),
    Column("threshold", Integer, nullable=False),
    Column("method", String(20), nullable=False),  # "self_declared" | "birth_date"
    Column("confirmed_at", UTCDateTime, nullable=False),
)

#: Each published version of the declaration (its content has no personal data), whether it changed anything
#: material for customers, and how far queueing its change notice went (resumable by subject order).
declaration_versions = Table(
    "sp_declaration_versions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("version", String(40), nullable=False),
    Column("published_at", UTCDateTime, nullable=False, index=True),
    Column("content", JSON, nullable=False),
    Column("changes", JSON, nullable=False),  # material changes: ["purpose:newsletter", "processor:mail", ...]
    Column("notices", String(10), nullable=False),  # none | queuing | queued
    Column("queued_through", String(64), nullable=True),  # the last subject queued (subject order)
    Column("queued", Integer, nullable=False),
)

#: The last interaction the shop reported for an e-mail subject (opened, clicked, purchased, logged in): what the
#: inactivity sunset measures from. Keyed by the e-mail subject pseudonym; no address.
contact_activity = Table(
    "sp_contact_activity",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("last_at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
)

#: Each time the shop shared a person's data with a declared recipient: which, for what, when — keyed by a
#: pseudonym of the identifier, so the person's export can list the recipients of their data.
shares = Table(
    "sp_shares",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("processor", String(40), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
