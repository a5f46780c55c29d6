"""Rights requests: requests, identifiers, per-source steps, export archives, shop redactions, attempts.

Revision ID: 0006_rights
Revises: 0005_renewals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0006_rights"
down_revision = "0005_renewals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_rights_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("regime", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True, unique=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("verified_by", sa.String(40), nullable=True),
        sa.Column("forwarded_by", sa.String(40), nullable=True),
        sa.Column("verified_at", UTCDateTime, nullable=True),
        sa.Column("verify_expires_at", UTCDateTime, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("acknowledge_by", UTCDateTime, nullable=True),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("extended_at", UTCDateTime, nullable=True),
        sa.Column("extension_reason", sa.String(200), nullable=True),
        sa.Column("reject_reason", sa.String(200), nullable=True),
        sa.Column("completed_at", UTCDateTime, nullable=True),
        sa.Column("changes", sa.Text, nullable=True),
        sa.Column("consent_ref", sa.Text, nullable=True),
        sa.Column("orders", sa.Text, nullable=True),
        sa.Column("ip_hash", sa.String(90), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("reminded_at", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_rights_requests_work", "sp_rights_requests", ["state", "next_attempt_at"])
    op.create_index("ix_sp_rights_requests_due", "sp_rights_requests", ["state", "due_at"])
    op.create_index("ix_sp_rights_requests_ip", "sp_rights_requests", ["ip_hash", "received_at"])
    op.create_table(
        "sp_rights_identifiers",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("bidx", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("verified_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_rights_identifiers_bidx", "sp_rights_identifiers", ["bidx", "created_at"])
    op.create_table(
        "sp_rights_steps",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(80), primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("receipt", sa.JSON, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sp_rights_exports",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("archive", sa.LargeBinary, nullable=True),
        sa.Column("wrapped_key", sa.Text, nullable=True),
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("downloaded_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "sp_rights_redactions",
        sa.Column("external_id", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("receipt", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "sp_rights_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(90), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_rights_attempts_key", "sp_rights_attempts", ["key", "at"])


def downgrade() -> None:
    for table in ("sp_rights_attempts", "sp_rights_redactions", "sp_rights_exports", "sp_rights_steps",
                  "sp_rights_identifiers", "sp_rights_requests"):
        op.drop_table(table)
