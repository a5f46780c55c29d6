"""Audited reads of encrypted fields: ``sp_field_reads`` (who read whose fields, when, for what purpose).

Revision ID: 0015_reads_field_reads
Revises: 0014_consent_proof
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_reads_field_reads"
down_revision = "0014_consent_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_field_reads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(60), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("reads", sa.Integer, nullable=False),
    )
    op.create_index("ix_sp_field_reads_audit_seq", "sp_field_reads", ["audit_seq"])
    op.create_index("ix_sp_field_reads_at", "sp_field_reads", ["at"])
    op.create_index("ix_sp_field_reads_subject", "sp_field_reads", ["subject"])


def downgrade() -> None:
    op.drop_table("sp_field_reads")
