"""Inactivity sunset: the last interaction the shop reported per e-mail subject.

Revision ID: 0015_sunset_contact_activity
Revises: 0015_journal_erasures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_sunset_contact_activity"
down_revision = "0015_journal_erasures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_contact_activity",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("last_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sp_contact_activity")
