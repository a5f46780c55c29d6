"""The erasure journal: every erasure and crypto-shred, also written outside the SDK's database.

A whole-database backup taken before an erasure brings the erased data — and the subject keys that decrypt it —
back when it is restored. The journal lives in a database of its own (``Settings.erasure_journal.url``), so a
restore of the SDK's database does not roll it back. It holds only pseudonyms, key handles, request ids and the
platform work of an erasure (its outbox key and the keyring-encrypted customer reference the outbox row holds):
no clear personal data.

Each entry is written (committed) before the SDK's database changes, and the SDK's database records the highest
entry it applied (:func:`advance`, in the same transaction as the erasure). After a restore that mark is behind
the journal: ``shopprivacy doctor`` says so and ``shopprivacy erasures replay`` applies the missing entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..errors import InvalidInput
from .engine import Store
from .schema import metadata
from .types import UTCDateTime, utcnow

#: Kinds of entry: a subject key destroyed, every key destroyed (shop redaction), an e-mail subject forgotten,
#: a platform erasure queued.
KINDS = frozenset({"shred", "shred_all", "erase", "platform"})

#: The journal's own schema: one append-only table in the journal's database (not the SDK's migrations).
journal_metadata = MetaData()
entries = Table(
    "sp_erasure_journal",
    journal_metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("pseudonym", String(64), nullable=False),  # keyed pseudonym: of the subject key, e-mail subject, request
    Column("key_id", String(24), nullable=True),  # subject key handle
    Column("request_id", String(32), nullable=True),
    Column("work", JSON, nullable=True),  # platform work: source, outbox key, keyring-encrypted customer reference
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sp_erasure_journal_at", "at"),
)

#: In the SDK's database: the highest journal entry applied to it (one row, ``id`` 1).
marks = Table(
    "sp_erasure_journal_mark",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("applied_seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


class ErasureJournalSettings(BaseModel):
    """Where the erasure journal is kept (``SHOPPRIVACY_ERASURE_JOURNAL__*``).

    ``url``: a database other than the SDK's (its own SQLite file, or another PostgreSQL database), backed up on
    its own schedule. Unset with an SQLite database: a file next to it (``shop.db`` -> ``shop.erasures.db``);
    unset with PostgreSQL: no journal (``doctor`` warns). ``keep_days``: entries older than this are purged; keep
    it longer than the oldest backup you may restore.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    keep_days: int = Field(400, ge=1, le=36500)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        from .diagnose import URL_FORMS

        if value is not None and not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError(f"must be a database URL other than the SDK's, such as {URL_FORMS}")
        return value

    def resolve(self, database_url: str) -> str | None:
        """The journal's URL: the configured one, else a file next to an SQLite database (None on PostgreSQL
        or an in-memory SQLite database)."""
        if self.url:
            return self.url
        prefix = "sqlite:///"
        if not database_url.startswith(prefix) or database_url[len(prefix):] in ("", ":memory:"):
            return None
        path, _, query = database_url[len(prefix):].partition("?")
        stem = path[:-3] if path.endswith(".db") else path
        return f"{prefix}{stem}.erasures.db" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Entry:
    """One journal entry (no clear personal data)."""

    seq: int
    kind: str
    pseudonym: str
    key_id: str | None
    request_id: str | None
    work: Mapping[str, Any] | None
    at: datetime


class ErasureJournal:
    """Append-only journal of erasures in its own database (see the module docstring)."""

    def __init__(self, store: Store, *, keep_days: int = 400, clock: Callable[[], datetime] = utcnow) -> None:
        self.store, self.keep_days, self.clock = store, keep_days, clock
        self._ready = False

    @property
    def safe_url(self) -> str:
        return self.store.safe_url

    def ensure(self) -> None:
        """Create the journal's table when it is missing (idempotent)."""
        if not self._ready:
            journal_metadata.create_all(self.store.engine, checkfirst=True)
            self._ready = True

    def append(self, kind: str, *, pseudonym: str, key_id: str | None = None, request_id: str | None = None,
               work: Mapping[str, Any] | None = None) -> int:
        """Write (and commit) one entry before the erasure itself; returns its sequence number."""
        if kind not in KINDS or not pseudonym or len(pseudonym) > 64:
            raise InvalidInput("a journal entry needs a known kind and a pseudonym of 1-64 characters")
        self.ensure()
        with self.store.begin() as conn:
            key = conn.execute(entries.insert().values(
                kind=kind, pseudonym=pseudonym, key_id=key_id, request_id=request_id,
                work=dict(work) if work is not None else None, at=self.clock())).inserted_primary_key
            assert key is not None
            return int(key[0])

    def after(self, seq: int, *, limit: int = 500) -> list[Entry]:
        """Entries after ``seq``, oldest first."""
        self.ensure()
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(entries).where(entries.c.seq > seq).order_by(entries.c.seq)
                                .limit(limit)).all()
        return [Entry(r.seq, r.kind, r.pseudonym, r.key_id, r.request_id, r.work, r.at) for r in rows]

    def last_seq(self) -> int:
        """The newest entry's number (0 when empty)."""
        self.ensure()
        with self.store.begin(write=False) as conn:
            return int(conn.execute(select(func.coalesce(func.max(entries.c.seq), 0))).scalar_one())

    def purge(self, now: datetime) -> int:
        """Drop entries older than ``keep_days`` (the newest entry always stays, so numbers never restart)."""
        self.ensure()
        last = self.last_seq()
        with self.store.begin() as conn:
            return int(conn.execute(entries.delete().where(
                entries.c.at < now - timedelta(days=self.keep_days), entries.c.seq < last)).rowcount)


def applied(conn: Connection) -> int:
    """The highest journal entry the SDK's database applied (0 when none)."""
    return int(conn.execute(select(marks.c.applied_seq).where(marks.c.id == 1)).scalar() or 0)


def advance(conn: Connection, seq: int, now: datetime) -> None:
    """Record in ``conn`` (the erasure's transaction) that entry ``seq`` is applied (the mark only grows)."""
    ins = (pg_insert(marks) if conn.dialect.name == "postgresql" else sqlite_insert(marks)).values(
        id=1, applied_seq=seq, updated_at=now)
    conn.execute(ins.on_conflict_do_nothing(index_elements=["id"]))
    conn.execute(update(marks).where(marks.c.id == 1, marks.c.applied_seq < seq)
                 .values(applied_seq=seq, updated_at=now))
