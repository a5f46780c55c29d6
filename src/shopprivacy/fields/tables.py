"""Tables of the encrypted-fields capability."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from ..store.schema import metadata
from ..store.types import UTCDateTime

#: Per-subject data keys, wrapped by a keyring key. Shredding empties ``wrapped_key`` and keeps a tombstone,
#: so decryption can say "shredded" rather than "unknown".
subject_keys = Table(
    "sp_subject_keys",
    metadata,
    Column("handle", String(24), primary_key=True),
    Column("subject", String(64), nullable=False, unique=True),  # keyed pseudonym of the subject id
    Column("key_id", String(12), nullable=True),  # keyring key that wraps it
    Column("wrapped_key", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("shredded_at", UTCDateTime, nullable=True),
)
