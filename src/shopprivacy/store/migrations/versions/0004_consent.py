"""Cookie consent proof.

Revision ID: 0004_consent
Revises: 0003_email
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0004_consent"
down_revision = "0003_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_consent_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("consent_id", sa.String(40), nullable=False),
        sa.Column("policy_version", sa.String(20), nullable=False),
        sa.Column("granted", sa.JSON, nullable=False),
        sa.Column("denied", sa.JSON, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("gpc", sa.Boolean, nullable=False),
        sa.Column("page_url", sa.String(500), nullable=True),
        sa.Column("ip_hash", sa.String(90), nullable=True),
        sa.Column("ua_hash", sa.String(90), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_consent_records_consent_id", "sp_consent_records", ["consent_id"])


def downgrade() -> None:
    op.drop_index("ix_sp_consent_records_consent_id", table_name="sp_consent_records")
    op.drop_table("sp_consent_records")
