"""Foundation: audit log and head, outbox, jobs, webhook inbox.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(120), nullable=True),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("key_id", sa.String(12), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "sp_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_mac", sa.String(64), nullable=False),
        sa.Column("base_seq", sa.BigInteger, nullable=False),
        sa.Column("base_mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "sp_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(120), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("leased_by", sa.String(120), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sp_outbox_due", "sp_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "sp_jobs",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("checkpoint", sa.JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_owner", sa.String(120), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("processed", sa.BigInteger, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "sp_inbox",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("delivery_id", sa.String(200), primary_key=True),
        sa.Column("topic", sa.String(120), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_inbox_received", "sp_inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sp_inbox_received", table_name="sp_inbox")
    op.drop_table("sp_inbox")
    op.drop_table("sp_jobs")
    op.drop_index("ix_sp_outbox_due", table_name="sp_outbox")
    op.drop_table("sp_outbox")
    op.drop_table("sp_audit_head")
    op.drop_table("sp_audit_log")
