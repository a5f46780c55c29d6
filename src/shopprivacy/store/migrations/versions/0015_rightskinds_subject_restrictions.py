"""Subject restrictions: the state rights requests to restrict processing, object to marketing and profiling, or
opt out of sale/sharing leave on a person (by identifier blind index), read by renewals, marketing, retention
and processor exports.

Revision ID: 0015_rightskinds_subject_restrictions
Revises: 0014_consent_proof
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_rightskinds_subject_restrictions"
down_revision = "0014_consent_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_subject_restrictions",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("bidx", sa.String(64), primary_key=True),
        sa.Column("effect", sa.String(16), primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("placed_at", UTCDateTime, nullable=False),
        sa.Column("lifted_at", UTCDateTime, nullable=True),
        sa.Column("lift_reason", sa.String(200), nullable=True),
    )
    op.create_index("ix_sp_subject_restrictions_effect", "sp_subject_restrictions", ["effect", "lifted_at"])


def downgrade() -> None:
    op.drop_index("ix_sp_subject_restrictions_effect", table_name="sp_subject_restrictions")
    op.drop_table("sp_subject_restrictions")
