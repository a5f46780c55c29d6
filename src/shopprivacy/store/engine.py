"""Engine and transactions: SQLite (WAL) or PostgreSQL (psycopg 3) through SQLAlchemy Core."""

from __future__ import annotations

import logging
import os
import re
import select
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from ..errors import DatabaseUnavailable, InvalidInput, ShopPrivacyError
from . import migrate
from .diagnose import SQLITE_BUSY_SECONDS, driver_missing, parse_database_url, unavailable_message

log = logging.getLogger("shopprivacy.store")
_AFTER_COMMIT = "sp_after_commit"
_BEFORE_COMMIT = "sp_before_commit"
_TRANSACTION = "sp_transaction"


#: SQLite result codes (primary code, the low byte) that mean the database file cannot be used right now:
#: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL, NOTADB.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15, 26})
#: SQLSTATE classes of a lost or refused connection: 08 connection exception, 53 insufficient resources (too
#: many connections), 57P operator intervention (terminated, shutting down, starting up).
_SQLSTATE_UNAVAILABLE = ("08", "53", "57P")


def make_engine(url: str, *, setting: str = "SHOPPRIVACY_DATABASE_URL", **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL mode, ``secure_delete``, a busy timeout and explicit ``BEGIN``.

    A malformed URL or a missing driver raises :class:`ConfigurationError` naming ``setting`` and the fix. On
    every engine it makes, a lost or refused connection — at connect, mid-statement or at commit — raises
    :class:`DatabaseUnavailable` saying why (naming the database without its password, never the statement's
    values).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    parsed = parse_database_url(url, setting)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_recycle=RECYCLE_SECONDS, **kwargs)
            _configure_postgresql(engine)
    except ImportError as exc:
        raise driver_missing(parsed, exc, setting) from None
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
    """An SDK error raised inside statement processing (e.g. an encrypted column type) surfaces as itself; a
    database that went away, or cannot be used right now, surfaces as :class:`DatabaseUnavailable`."""
    if isinstance(context.original_exception, ShopPrivacyError):
        raise context.original_exception
    if context.is_pre_ping or not _unavailable(context):
        return  # a ping at checkout: the pool replaces a dead pooled connection by opening a new one
    url = context.engine.url if context.engine is not None else None
    where = url.render_as_string(hide_password=True) if url is not None else "?"
    raise DatabaseUnavailable(unavailable_message(where, url, context.original_exception,
                                                  connecting=context.connection is None))


def _unavailable(context: Any) -> bool:
    """Whether the error says the database is gone or unusable right now (not that the statement is wrong)."""
    orig = context.original_exception
    if context.is_disconnect:
        return True
    if context.connection is None and isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)):
        return True  # while connecting
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_UNAVAILABLE
    sqlstate = getattr(orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_SQLSTATE_UNAVAILABLE)


#: A pooled PostgreSQL connection is replaced after this many seconds (servers and proxies drop idle ones).
RECYCLE_SECONDS = 1800
#: A pooled PostgreSQL connection idle longer than this is pinged (one round trip) when checked out.
IDLE_PING_SECONDS = 30.0
_IDLE_SINCE = "sp_idle_since"


def _server_went_away(dbapi_conn: Any) -> bool:
    """True when an idle connection has something to read: a server that ended it (terminated, restarted, shut
    down) has sent its goodbye and closed the socket. An idle connection is sent nothing otherwise. No round
    trip: a poll of the socket."""
    try:
        if dbapi_conn.closed:
            return True
        return bool(select.select([dbapi_conn.fileno()], [], [], 0)[0])
    except Exception:  # noqa: BLE001 - OSError, or the driver's own error for a closed connection
        return True


def _begun(dbapi_conn: Any) -> bool:
    """Begin psycopg's transaction now, as its first statement would (the same ``BEGIN``, the same round trip);
    False when the connection turns out dead, so the caller can retry on another before anything ran. Left to
    psycopg when the connection has its own transaction settings."""
    from psycopg import pq

    pgconn = dbapi_conn.pgconn
    if (dbapi_conn.autocommit or pgconn.transaction_status != pq.TransactionStatus.IDLE
            or dbapi_conn.isolation_level is not None or dbapi_conn.read_only is not None
            or dbapi_conn.deferrable is not None):
        return True
    try:
        result = pgconn.exec_(b"BEGIN")
    except Exception:  # noqa: BLE001 - psycopg's error for a connection that is gone
        return False
    return bool(result.status == pq.ExecStatus.COMMAND_OK)


def _configure_postgresql(engine: Engine) -> None:
    """Check pooled connections without a round trip per transaction (no ``pool_pre_ping``): a connection the
    server ended is found by polling its socket at checkout, one idle for long is pinged, and every one is
    recycled after :data:`RECYCLE_SECONDS`. A replaced connection is retried by the pool, silently; a
    connection lost mid-transaction raises :class:`DatabaseUnavailable` and the pool drops its peers."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None:
            return  # a new connection
        if _server_went_away(dbapi_conn):
            raise DisconnectionError("the server closed this pooled connection")
        if time.monotonic() - since > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception:  # noqa: BLE001 - whatever the driver raises for a connection that is gone
                raise DisconnectionError("a pooled connection idle for long did not answer") from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN itself
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            try:
                cur.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                # another connection holds a lock (the shop's own transaction on the same file): switching
                # to WAL needs the file alone, so this connection goes on in the file's current mode and
                # waits the busy timeout like any other; a later connection switches
                log.debug("WAL mode not set: the database file is locked by another connection")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA secure_delete=ON")  # deleted rows and keys are overwritten, not left in free pages
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sp_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def _sqlite_writer(engine: Engine) -> threading.RLock | None:
    """The process-wide writer lock of an SQLite file (shared by every engine on it); None in memory."""
    database = engine.url.database
    if database in (None, "", ":memory:"):
        return None
    key = os.path.realpath(database)
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(key, threading.RLock())


class Store:
    """The SDK's database: transactions, locks and schema version."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: SQLite: this process's write transactions on the file queue here, in turn, rather than in SQLite's
        #: busy handler, which sleeps (up to 100 ms a time) between tries; other processes still meet the busy
        #: timeout. Reentrant: a write transaction begun inside another in the same thread behaves as before.
        self._writer = _sqlite_writer(engine) if engine.dialect.name == "sqlite" else None
        self._open = threading.local()  # how many transactions of this store the current thread has open

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

        :class:`DatabaseUnavailable` when the database cannot be reached or goes away: before the commit
        nothing of the transaction is kept; during the commit itself its outcome is unknown (retry idempotent
        work only).
        """
        writer = self._writer if write else None
        if writer is not None:
            writer.acquire()
        self._open.count = getattr(self._open, "count", 0) + 1
        try:
            with self._begin(write) as conn:
                yield conn
        finally:
            self._open.count -= 1
            if writer is not None:
                writer.release()

    def in_transaction(self) -> bool:
        """Whether the current thread has a transaction of this store open (:meth:`begin`)."""
        return getattr(self._open, "count", 0) > 0

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Connection]:
        conn = self._connect()
        callbacks: dict[str, Callable[[], None]] = {}
        last: dict[str, Callable[[], None]]
        try:
            if write and self.dialect == "sqlite":
                conn = conn.execution_options(sp_write=True)
            conn.info[_AFTER_COMMIT] = callbacks
            conn.info[_BEFORE_COMMIT] = last = {}
            conn.info[_TRANSACTION] = {}
            try:
                with conn.begin():
                    yield conn
                    while last:  # still in the transaction: it commits with the rest or not at all
                        last.pop(next(iter(last)))()
            finally:
                conn.info.pop(_AFTER_COMMIT, None)
                conn.info.pop(_BEFORE_COMMIT, None)
                conn.info.pop(_TRANSACTION, None)  # info outlives the transaction (it is the pooled connection's)
        finally:
            conn.close()
        for callback in callbacks.values():
            try:
                callback()
            except Exception:  # the transaction is committed: a failing follow-up must not undo its success
                log.exception("after-commit callback failed")

    def _connect(self) -> Connection:
        """A pooled connection; on PostgreSQL with its transaction begun, on another connection when the pooled
        one turns out dead at that first round trip (the one every transaction makes anyway)."""
        for _ in range(3):
            try:
                conn = self.engine.connect()
            except (OperationalError, InterfaceError) as exc:
                raise DatabaseUnavailable(unavailable_message(self.safe_url, self.engine.url, exc.orig,
                                                              connecting=True)) from None
            if self.engine.dialect.driver != "psycopg" or _begun(conn.connection.dbapi_connection):
                return conn
            log.info("a pooled connection was found closed by the server; retrying on a new one")
            conn.invalidate()
            conn.close()
        return self.engine.connect()  # fails as a statement would: DatabaseUnavailable via handle_error

    def after_commit(self, conn: Connection, key: str, callback: Callable[[], None]) -> bool:
        """Run ``callback`` once ``conn``'s transaction (one of :meth:`begin`) has committed; a later callback with
        the same ``key`` replaces it. Returns ``False`` (and never runs it) for a transaction begun elsewhere."""
        pending: dict[str, Callable[[], None]] | None = conn.info.get(_AFTER_COMMIT)
        if pending is None:
            return False
        pending[key] = callback
        return True

    def before_commit(self, conn: Connection, key: str, work: Callable[[], None]) -> bool:
        """Run ``work`` last in ``conn``'s transaction (one of :meth:`begin`), just before it commits; once per
        ``key``. Returns ``False`` (and never runs it) for a transaction begun elsewhere."""
        pending: dict[str, Callable[[], None]] | None = conn.info.get(_BEFORE_COMMIT)
        if pending is None:
            return False
        pending.setdefault(key, work)
        return True

    @staticmethod
    def transaction_state(conn: Connection) -> dict[str, Any] | None:
        """A dict that lives as long as ``conn``'s transaction (one of :meth:`begin`) and goes with it, committed
        or rolled back; None for a transaction begun elsewhere."""
        state: dict[str, Any] | None = conn.info.get(_TRANSACTION)
        return state

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
