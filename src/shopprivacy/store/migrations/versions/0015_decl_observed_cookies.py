"""Data declaration: names of cookies the shop's responses set (for the drift check), age confirmations and the
published versions of the declaration.

Revision ID: 0015_decl_observed_cookies
Revises: 0015_reads_field_reads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_decl_observed_cookies"
down_revision = "0015_reads_field_reads"
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
    op.create_table(
        "sp_declaration_versions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("notices", sa.String(10), nullable=False),
        sa.Column("queued_through", sa.String(64), nullable=True),
        sa.Column("queued", sa.Integer, nullable=False),
    )
    op.create_index("ix_sp_declaration_versions_published_at", "sp_declaration_versions", ["published_at"])


def downgrade() -> None:
    op.drop_table("sp_declaration_versions")
    op.drop_table("sp_age_confirmations")
    op.drop_table("sp_observed_cookies")
