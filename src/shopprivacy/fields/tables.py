"""Tables of the encrypted-fields capability."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Integer, String, Table, Text

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

#: Reads of encrypted fields by staff: who, in which role, for what purpose, whose (the subject's key pseudonym,
#: as in ``sp_subject_keys.subject``) and which fields — never values. Each batch is covered by one audit entry
#: (``fields.read``) holding the digest of its rows.
field_reads = Table(
    "sp_field_reads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("audit_seq", BigInteger, nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(120), nullable=False),
    Column("role", String(60), nullable=True),
    Column("purpose", String(200), nullable=False),
    Column("subject", String(64), nullable=True, index=True),
    Column("fields", JSON, nullable=False),
    Column("reads", Integer, nullable=False),
)
