"""Breach register: breaches with the 72-hour clock, their steps, and the subjects each affects.

Revision ID: 0011_breaches_register
Revises: 0010_outbox_ordering_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0011_breaches_register"
down_revision = "0010_outbox_ordering_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_breaches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("aware_at", UTCDateTime, nullable=False),
        sa.Column("authority_due_at", UTCDateTime, nullable=False),
        sa.Column("authority", sa.String(16), nullable=False),
        sa.Column("reported_at", UTCDateTime, nullable=True),
        sa.Column("report_reference", sa.String(200), nullable=True),
        sa.Column("delay_reason", sa.Text, nullable=True),
        sa.Column("not_required_reason", sa.Text, nullable=True),
        sa.Column("incident", sa.JSON, nullable=False),
        sa.Column("assessment", sa.JSON, nullable=True),
        sa.Column("exemption", sa.Text, nullable=True),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sp_breaches_due", "sp_breaches", ["state", "authority", "authority_due_at"])
    op.create_table(
        "sp_breach_events",
        sa.Column("breach_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("changed", sa.JSON, nullable=False),
    )
    op.create_table(
        "sp_breach_subjects",
        sa.Column("breach_id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("via", sa.String(200), nullable=False),
        sa.Column("intelligible", sa.Boolean, nullable=False),
        sa.Column("reachable", sa.Boolean, nullable=False),
        sa.Column("notice", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("queued_at", UTCDateTime, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sp_breach_subjects_notice", "sp_breach_subjects", ["breach_id", "notice"])


def downgrade() -> None:
    op.drop_index("ix_sp_breach_subjects_notice", table_name="sp_breach_subjects")
    op.drop_table("sp_breach_subjects")
    op.drop_table("sp_breach_events")
    op.drop_index("ix_sp_breaches_due", table_name="sp_breaches")
    op.drop_table("sp_breaches")
