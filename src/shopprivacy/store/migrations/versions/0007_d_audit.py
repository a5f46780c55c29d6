"""Sealed audit head: the key id and HMAC seal of ``sp_audit_head`` (NULL in rows written before).

Revision ID: 0007_d_audit
Revises: 0006_rights
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_d_audit"
down_revision = "0006_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sp_audit_head", sa.Column("key_id", sa.String(12), nullable=True))
    op.add_column("sp_audit_head", sa.Column("seal", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sp_audit_head") as batch:
        batch.drop_column("seal")
        batch.drop_column("key_id")
