"""Encrypted fields: per-subject data keys.

Revision ID: 0002_fields
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0002_fields"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_subject_keys",
        sa.Column("handle", sa.String(24), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False, unique=True),
        sa.Column("key_id", sa.String(12), nullable=True),
        sa.Column("wrapped_key", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("shredded_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sp_subject_keys")
