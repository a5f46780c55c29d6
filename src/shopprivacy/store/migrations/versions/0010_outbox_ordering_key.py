"""Outbox ordering: rows sharing an ordering key are delivered in order and only the newest one.

Revision ID: 0010_outbox_ordering_key
Revises: 0009_audit_head_seal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_ordering_key"
down_revision = "0009_audit_head_seal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sp_outbox", sa.Column("ordering_key", sa.String(200), nullable=True))
    op.create_index("ix_sp_outbox_ordering", "sp_outbox", ["ordering_key", "id"])


def downgrade() -> None:
    op.drop_index("ix_sp_outbox_ordering", table_name="sp_outbox")
    with op.batch_alter_table("sp_outbox") as batch:
        batch.drop_column("ordering_key")
