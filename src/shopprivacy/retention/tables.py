"""Tables of retention: legal holds and sweep receipts (created by migration ``0005_renewals``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Legal holds: rows of an entity that retention must not touch while held.
legal_holds = Table(
    "sp_legal_holds",
    metadata,
    Column("entity", String(200), primary_key=True),
    Column("row_key", String(200), primary_key=True),
    Column("reason", String(200), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
)

#: One receipt per rule and sweep: what was matched, exempted and processed.
retention_receipts = Table(
    "sp_retention_receipts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("rule", String(120), nullable=False),
    Column("entity", String(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("cutoff", UTCDateTime, nullable=False),
    Column("processed", BigInteger, nullable=False),
    Column("exempt", BigInteger, nullable=False),
    Column("batches", Integer, nullable=False),
    Column("longest_tx_ms", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Index("ix_sp_retention_receipts_rule", "rule", "finished_at"),
)
