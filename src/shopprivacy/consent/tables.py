"""Append-only proof of cookie consent choices."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, false

from ..store import proof
from ..store.schema import metadata
from ..store.types import UTCDateTime

consent_records = proof.register(Table(
    "sp_consent_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("consent_id", String(40), nullable=False),
    Column("policy_version", String(20), nullable=False),
    Column("granted", JSON, nullable=False),
    Column("denied", JSON, nullable=False),
    Column("method", String(20), nullable=False),  # accept_all | reject_all | custom | gpc | withdraw
    Column("gpc", Boolean, nullable=False),
    # marketing / sale of data switched on explicitly under GPC, in a separate per-category step
    Column("gpc_override", Boolean, nullable=False, default=False, server_default=false()),
    # the banner language shown and a SHA-256 of its exact texts (NULL in rows written before they were kept)
    Column("locale", String(35), nullable=True),
    Column("texts_digest", String(64), nullable=True),
    Column("page_url", String(500), nullable=True),  # origin and path only: queries may hold personal data
    Column("ip_hash", String(90), nullable=True),
    Column("ua_hash", String(90), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    # keyed pseudonym of a known customer who made the choice (a platform vouched for them), else NULL
    Column("subject", String(90), nullable=True),
    Index("ix_sp_consent_records_consent_id", "consent_id"),
    Index("ix_sp_consent_records_subject", "subject"),
))
