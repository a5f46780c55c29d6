"""Shares of a person's data with declared recipients (``sp.processors.record_share``).

Revision ID: 0015_decl_shares
Revises: 0015_rightskinds_restrictions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_decl_shares"
down_revision = "0015_rightskinds_restrictions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_shares",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("processor", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_shares_subject", "sp_shares", ["subject"])


def downgrade() -> None:
    op.drop_table("sp_shares")
