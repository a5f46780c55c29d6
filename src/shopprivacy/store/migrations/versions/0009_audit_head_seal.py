"""Sealed audit head: the key id and HMAC seal of ``sp_audit_head`` (NULL in rows written before).

Revision ID: 0009_audit_head_seal
Revises: 0008_opt_in_limit_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_audit_head_seal"
down_revision = "0008_opt_in_limit_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sp_audit_head", sa.Column("key_id", sa.String(12), nullable=True))
    op.add_column("sp_audit_head", sa.Column("seal", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sp_audit_head") as batch:
        batch.drop_column("seal")
        batch.drop_column("key_id")
