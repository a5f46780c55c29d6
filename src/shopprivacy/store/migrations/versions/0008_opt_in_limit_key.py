"""E-mail opt-ins: the limit key (blind index of the address's mailbox form), so the ``+tag`` and Gmail dot
variants of one address share its confirmation-mail limit.

Revision ID: 0008_opt_in_limit_key
Revises: 0007_subscription_owners
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_opt_in_limit_key"
down_revision = "0007_subscription_owners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sp_email_pending_opt_ins", sa.Column("limit_key", sa.String(64), nullable=True))
    # rows written before: their own blind index (exact for every address without a +tag or Gmail dots)
    op.execute("UPDATE sp_email_pending_opt_ins SET limit_key = address_bidx")
    op.create_index("ix_sp_email_pending_limit", "sp_email_pending_opt_ins", ["limit_key", "list_id"])


def downgrade() -> None:
    op.drop_index("ix_sp_email_pending_limit", table_name="sp_email_pending_opt_ins")
    with op.batch_alter_table("sp_email_pending_opt_ins") as batch:
        batch.drop_column("limit_key")
