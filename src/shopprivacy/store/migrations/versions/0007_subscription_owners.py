"""Subscription owners: the customer of each platform subscription seen, for deletion webhooks.

Revision ID: 0007_subscription_owners
Revises: 0006_rights
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0007_subscription_owners"
down_revision = "0006_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_subscription_owners",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sp_subscription_owners_customer", "sp_subscription_owners", ["source", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_sp_subscription_owners_customer", table_name="sp_subscription_owners")
    op.drop_table("sp_subscription_owners")
