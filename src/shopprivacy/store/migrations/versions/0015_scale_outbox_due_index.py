"""The outbox's due index ends with the row id, so the next due row is read off the index in claim order
(``next_attempt_at, id``) instead of sorting every row due at the same instant (a backlog enqueued at once).

Revision ID: 0015_scale_outbox_due_index
Revises: 0015_decl_shares
"""

from __future__ import annotations

from alembic import op

revision = "0015_scale_outbox_due_index"
down_revision = "0015_decl_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sp_outbox_due", table_name="sp_outbox")
    op.create_index("ix_sp_outbox_due", "sp_outbox", ["status", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_sp_outbox_due", table_name="sp_outbox")
    op.create_index("ix_sp_outbox_due", "sp_outbox", ["status", "next_attempt_at"])
