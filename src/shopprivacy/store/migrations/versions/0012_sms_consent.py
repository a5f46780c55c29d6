"""SMS marketing consent: numbers, suppressions, subscriptions, proof and opt-ins awaiting their code.

Revision ID: 0012_sms_consent
Revises: 0011_breaches_register
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0012_sms_consent"
down_revision = "0011_breaches_register"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_sms_subjects",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("address_bidx", sa.String(64), nullable=False, unique=True),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("customer_ref", sa.String(200), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("key_subject", sa.String(80), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_sms_suppressions",
        sa.Column("address_bidx", sa.String(64), primary_key=True),
        sa.Column("list_id", sa.String(60), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_sms_subscriptions",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("list_id", sa.String(60), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opt_in_level", sa.String(20), nullable=False),
        sa.Column("paused_until", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_sms_consent_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
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
    op.create_index("ix_sp_sms_consent_events_bidx", "sp_sms_consent_events", ["address_bidx"])
    op.create_table(
        "sp_sms_pending",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("address_bidx", sa.String(64), nullable=False),
        sa.Column("list_id", sa.String(60), nullable=False),
        sa.Column("text_version", sa.String(120), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("ip_hash", sa.String(90), nullable=True),
        sa.Column("ua_hash", sa.String(90), nullable=True),
        sa.Column("code_hash", sa.String(90), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("window_started_at", UTCDateTime, nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sp_sms_pending_lookup", "sp_sms_pending", ["address_bidx", "list_id"])
    op.create_index("ix_sp_sms_pending_expiry", "sp_sms_pending", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sp_sms_pending_expiry", table_name="sp_sms_pending")
    op.drop_index("ix_sp_sms_pending_lookup", table_name="sp_sms_pending")
    op.drop_table("sp_sms_pending")
    op.drop_index("ix_sp_sms_consent_events_bidx", table_name="sp_sms_consent_events")
    op.drop_table("sp_sms_consent_events")
    op.drop_table("sp_sms_subscriptions")
    op.drop_table("sp_sms_suppressions")
    op.drop_table("sp_sms_subjects")
