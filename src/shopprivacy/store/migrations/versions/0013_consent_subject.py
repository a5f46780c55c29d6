"""Cookie consent proof tied to a known customer: ``sp_consent_records.subject``.

A choice made by a logged-in customer (e.g. on a Shopify storefront, whose app proxy names the customer) keeps
the customer's keyed pseudonym next to the browser's consent id, so an opt-out holds for the customer and not
only for one browser.

Revision ID: 0013_consent_subject
Revises: 0012_sms_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_consent_subject"
down_revision = "0012_sms_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sp_consent_records") as batch:
        batch.add_column(sa.Column("subject", sa.String(90), nullable=True))
    op.create_index("ix_sp_consent_records_subject", "sp_consent_records", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_sp_consent_records_subject", table_name="sp_consent_records")
    with op.batch_alter_table("sp_consent_records") as batch:
        batch.drop_column("subject")
