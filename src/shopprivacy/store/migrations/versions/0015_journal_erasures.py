"""Erasure journal and grace window: the mark of the highest journal entry applied to this database (the
journal itself lives in a database of its own); the end of a confirmed erasure's cancel window.

Revision ID: 0015_journal_erasures
Revises: 0015_decl_observed_cookies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_journal_erasures"
down_revision = "0015_decl_observed_cookies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_erasure_journal_mark",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("applied_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.add_column("sp_rights_requests", sa.Column("cancel_until", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sp_rights_requests") as batch:
        batch.drop_column("cancel_until")
    op.drop_table("sp_erasure_journal_mark")
