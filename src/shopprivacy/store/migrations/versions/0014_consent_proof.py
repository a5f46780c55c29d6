"""Consent proof integrity: the GPC override flag, the banner language and the digest of its texts of each
cookie-consent choice.

Revision ID: 0014_consent_proof
Revises: 0013_consent_subject
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_consent_proof"
down_revision = "0013_consent_subject"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows written before could not tell an override apart: none is assumed
    op.add_column("sp_consent_records",
                  sa.Column("gpc_override", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("sp_consent_records", sa.Column("locale", sa.String(35), nullable=True))
    op.add_column("sp_consent_records", sa.Column("texts_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sp_consent_records") as batch:
        batch.drop_column("texts_digest")
        batch.drop_column("locale")
        batch.drop_column("gpc_override")
