"""Tables of the data declaration."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

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
