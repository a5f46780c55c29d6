"""Subject restrictions: the state rights requests to restrict processing, object to marketing and profiling, or
opt out of sale/sharing leave on a person (by identifier blind index), read by renewals, marketing, retention
and processor exports; the kind of a rights request widened to 16 characters (``opt_out_sale``).

(The revision id is at most 32 characters: Alembic's version column on PostgreSQL is VARCHAR(32).)

Revision ID: 0015_rightskinds_restrictions
Revises: 0015_sunset_contact_activity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopprivacy.store.types import UTCDateTime

revision = "0015_rightskinds_restrictions"
down_revision = "0015_sunset_contact_activity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sp_subject_restrictions",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("bidx", sa.String(64), primary_key=True),
        sa.Column("effect", sa.String(16), primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("placed_at", UTCDateTime, nullable=False),
        sa.Column("lifted_at", UTCDateTime, nullable=True),
        sa.Column("lift_reason", sa.String(200), nullable=True),
    )
    op.create_index("ix_sp_subject_restrictions_effect", "sp_subject_restrictions", ["effect", "lifted_at"])
    with op.batch_alter_table("sp_rights_requests") as batch:
        batch.alter_column("kind", type_=sa.String(16), existing_type=sa.String(10), existing_nullable=False)


def downgrade() -> None:
    # requests of the new kinds cannot be kept in the older schema's column
    new = "SELECT id FROM sp_rights_requests WHERE kind IN ('restrict', 'object', 'opt_out_sale')"
    for table in ("sp_rights_identifiers", "sp_rights_steps", "sp_rights_exports"):
        op.execute(f"DELETE FROM {table} WHERE request_id IN ({new})")
    op.execute("DELETE FROM sp_rights_requests WHERE kind IN ('restrict', 'object', 'opt_out_sale')")
    with op.batch_alter_table("sp_rights_requests") as batch:
        batch.alter_column("kind", type_=sa.String(10), existing_type=sa.String(16), existing_nullable=False)
    op.drop_index("ix_sp_subject_restrictions_effect", table_name="sp_subject_restrictions")
    op.drop_table("sp_subject_restrictions")
