"""Renewals and retention: renewal attempts, legal holds, retention receipts.

Revision ID: 0005_renewals
Revises: 0004_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0005_renewals"
down_revision = "0004_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_renewal_attempts",
        sa.Column("subscription_id", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(120), nullable=True),
        sa.Column("claimed_until", UTCDateTime, nullable=True),
        sa.Column("attempt_id", sa.String(200), nullable=True),
        sa.Column("order_id", sa.String(200), nullable=True),
        sa.Column("error_code", sa.String(120), nullable=True),
        sa.Column("cleaned_fields", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_renewal_attempts_status", "sp_renewal_attempts", ["status", "updated_at"])
    op.create_table(
        "sp_legal_holds",
        sa.Column("entity", sa.String(200), primary_key=True),
        sa.Column("row_key", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("placed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_retention_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(120), nullable=False),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("cutoff", UTCDateTime, nullable=False),
        sa.Column("processed", sa.BigInteger, nullable=False),
        sa.Column("exempt", sa.BigInteger, nullable=False),
        sa.Column("batches", sa.Integer, nullable=False),
        sa.Column("longest_tx_ms", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_retention_receipts_rule", "sp_retention_receipts", ["rule", "finished_at"])


def downgrade() -> None:
    op.drop_table("sp_retention_receipts")
    op.drop_table("sp_legal_holds")
    op.drop_table("sp_renewal_attempts")
