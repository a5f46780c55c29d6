"""Data declaration: names of cookies the shop's responses set (for the drift check) and age confirmations.

Revision ID: 0015_decl_observed_cookies
Revises: 0014_consent_proof
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_decl_observed_cookies"
down_revision = "0014_consent_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_observed_cookies",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
    )
    op.create_table(
        "sp_age_confirmations",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sp_age_confirmations")
    op.drop_table("sp_observed_cookies")
