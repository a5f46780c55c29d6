"""A database that goes away while the SDK uses it, for real: no mock of SQLAlchemy or the driver.

PostgreSQL: every statement run through the engine while the outage lasts has its server process terminated
first (``pg_terminate_backend`` from a separate connection), as a restart or a failover does; the shared server
itself keeps running. SQLite: another connection holds the write lock and the engine's busy timeout is short,
so writes fail with "database is locked" as they do behind a long writer; reads still work (WAL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine


@contextmanager
def database_outage(engine: Engine, *, conn: Connection | None = None) -> Iterator[None]:
    """While the block runs, statements on ``engine`` find the database gone (see the module docstring).
    ``conn``: a connection already in a transaction that should meet the outage too (SQLite: its busy
    timeout is shortened; PostgreSQL needs nothing)."""
    if engine.dialect.name == "postgresql":
        with _terminated(engine):
            yield
        return
    if conn is not None:
        conn.exec_driver_sql("PRAGMA busy_timeout=50")
    with _locked(engine):
        yield


@contextmanager
def _terminated(engine: Engine) -> Iterator[None]:
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")

    def terminate(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        pid = conn.connection.dbapi_connection.info.backend_pid
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(engine, "before_cursor_execute", terminate)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", terminate)
        admin.dispose()


@contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    def short_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    blocker = sqlite3.connect(str(engine.url.database), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the write lock, held until the outage ends
    engine.dispose()  # pooled connections would keep the long busy timeout
    event.listen(engine, "connect", short_timeout)
    try:
        yield
    finally:
        event.remove(engine, "connect", short_timeout)
        engine.dispose()
        blocker.rollback()
        blocker.close()
