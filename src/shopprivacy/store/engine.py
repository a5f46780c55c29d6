"""Engine and transactions: SQLite (WAL) or PostgreSQL (psycopg 3) through SQLAlchemy Core."""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from ..errors import DatabaseUnavailable, InvalidInput, ShopPrivacyError
from . import migrate

log = logging.getLogger("shopprivacy.store")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL mode, a busy timeout and explicit ``BEGIN``."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "handle_error", _unwrap_sdk_errors)
    event.listen(engine, "before_cursor_execute", _refuse_unstorable_text)
    return engine


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _refuse_unstorable_text(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                            executemany: bool) -> None:
    """InvalidInput, before the driver sees it, for text no database keeps: a NUL character (PostgreSQL refuses
    it) or a lone surrogate (no UTF-8 encoding). The same on SQLite and PostgreSQL; the transaction rolls back."""
    for row in parameters if executemany else (parameters,):
        for value in row.values() if isinstance(row, Mapping) else row or ():
            if isinstance(value, str) and _UNSTORABLE.search(value):
                raise InvalidInput("text with a NUL character or a lone surrogate cannot be stored")


def _unwrap_sdk_errors(context: Any) -> None:
    """An SDK error raised inside statement processing (e.g. an encrypted column type) surfaces as itself."""
    if isinstance(context.original_exception, ShopPrivacyError):
        raise context.original_exception


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN itself
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sp_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """The SDK's database: transactions, locks and schema version."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self, *, write: bool = True) -> Iterator[Connection]:
        """A connection in a transaction, committed on success and rolled back on any exception.

        ``write=True`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``) so read-then-write
        transactions never deadlock; PostgreSQL uses row locks and :meth:`lock` instead.
        """
        try:
            conn = self.engine.connect()
        except (OperationalError, InterfaceError) as exc:
            raise DatabaseUnavailable(f"cannot reach the database {self.safe_url}: {type(exc.orig).__name__}") from None
        try:
            if write and self.dialect == "sqlite":
                conn = conn.execution_options(sp_write=True)
            with conn.begin():
                yield conn
        finally:
            conn.close()

    def lock(self, conn: Connection, name: str) -> None:
        """Serialise writers on ``name`` until the transaction ends (PostgreSQL advisory lock).

        On SQLite the ``BEGIN IMMEDIATE`` of :meth:`begin` already serialises all writers.
        """
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode()) - 2**31})

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest version (safe to run on every deploy). Returns (before, after)."""
        with self.begin() as conn:
            self.lock(conn, "shopprivacy:schema")
            before = migrate.current_revision(conn)
            migrate.upgrade(conn)
            after = migrate.current_revision(conn)
        log.info("schema upgraded", extra={"before": before, "after": after})
        assert after is not None
        return before, after

    def schema_status(self) -> tuple[str | None, str]:
        """(current revision in the database, newest revision this code knows)."""
        with self.begin(write=False) as conn:
            return migrate.current_revision(conn), migrate.head_revision()

    def check(self) -> None:
        """Raise DatabaseUnavailable or SchemaVersionError unless the store is ready to use."""
        with self.begin(write=False) as conn:
            migrate.check(conn)

    def dispose(self) -> None:
        self.engine.dispose()
