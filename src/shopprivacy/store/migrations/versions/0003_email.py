"""E-mail consent: subjects, suppressions, subscriptions, consent proof, pending opt-ins.

Revision ID: 0003_email
Revises: 0002_fields
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0003_email"
down_revision = "0002_fields"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "sp_email_subjects",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("address_bidx", sa.String(64), nullable=False, unique=True),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("customer_ref", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_email_suppressions",
        sa.Column("address_bidx", sa.String(64), primary_key=True),
        sa.Column("list_id", sa.String(60), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_email_subscriptions",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("list_id", sa.String(60), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opt_in_level", sa.String(20), nullable=False),
        sa.Column("paused_until", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_email_consent_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("address_bidx", sa.String(64), nullable=False),
        sa.Column("list_id", sa.String(60), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("text_version", sa.String(120), nullable=True),
        sa.Column("source", sa.String(120), nullable=True),
        sa.Column("ip_hash", sa.String(90), nullable=True),
        sa.Column("ua_hash", sa.String(90), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_email_consent_events_bidx", "sp_email_consent_events", ["address_bidx"])
    op.create_table(
        "sp_email_pending_opt_ins",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("address_bidx", sa.String(64), nullable=False),
        sa.Column("list_id", sa.String(60), nullable=False),
        sa.Column("text_version", sa.String(120), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("ip_hash", sa.String(90), nullable=True),
        sa.Column("ua_hash", sa.String(90), nullable=True),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("window_started_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sp_email_pending_lookup", "sp_email_pending_opt_ins", ["address_bidx", "list_id"])
    op.create_index("ix_sp_email_pending_expiry", "sp_email_pending_opt_ins", ["expires_at"])


def downgrade() -> None:
    for table in ("sp_email_pending_opt_ins", "sp_email_consent_events", "sp_email_subscriptions",
                  "sp_email_suppressions", "sp_email_subjects"):
        op.drop_table(table)
