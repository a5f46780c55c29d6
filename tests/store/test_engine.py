"""The store's engine: a database that goes away (mid-statement, at commit) or cannot be used is
``DatabaseUnavailable``, whichever engine of the SDK meets it; statement errors stay what they are; callbacks run
after commit."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from shopprivacy.errors import DatabaseUnavailable
from shopprivacy.store.engine import Store, make_engine

from ..outages import database_outage


def test_losing_the_database_mid_transaction_is_unavailable_and_keeps_nothing(store):
    with pytest.raises(DatabaseUnavailable, match="unavailable .*try again later") as info:
        with store.begin(write=False) as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            with database_outage(store.engine, conn=conn):
                conn.execute(text("CREATE TABLE sp_test_outage (a INTEGER)"))
    assert "CREATE" not in str(info.value)  # the statement (and its values) never appear
    with store.begin() as conn:  # the store works again, and the interrupted transaction left nothing
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert not inspect(conn).has_table("sp_test_outage")


def test_a_write_transaction_meeting_an_outage_is_unavailable(store):
    with database_outage(store.engine), pytest.raises(DatabaseUnavailable):
        with store.begin() as conn:
            conn.execute(text("SELECT 1"))
    store.check()


def test_postgresql_connections_lost_at_commit_or_while_idle(store):
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no server connection to lose at commit or while idle")
    admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT")

    def terminate(pid):
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    try:
        with pytest.raises(DatabaseUnavailable), store.begin() as conn:
            conn.execute(text("CREATE TABLE sp_test_commit (a INTEGER)"))
            terminate(conn.connection.dbapi_connection.info.backend_pid)  # the COMMIT finds no server process
        with store.begin() as conn:
            assert not inspect(conn).has_table("sp_test_commit")
            idle = conn.connection.dbapi_connection.info.backend_pid
        terminate(idle)  # killed while it waits in the pool: the pre-ping replaces it, silently
        with store.begin() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        admin.dispose()


def test_sqlite_files_that_cannot_be_opened_or_read_are_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "garbage.db").write_bytes(b"not an sqlite database " * 200)
    for url in (f"sqlite:///{tmp_path}/a-file/sp.db", f"sqlite:///{tmp_path}/garbage.db"):
        with pytest.raises(DatabaseUnavailable, match="cannot reach"):
            Store.from_url(url).check()
        engine = make_engine(url)  # the engines of shop tables (rights sources, retention) too
        with pytest.raises(DatabaseUnavailable), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()


def test_statement_errors_are_not_mistaken_for_an_outage(store):
    with pytest.raises(ProgrammingError if store.dialect == "postgresql" else Exception) as info:
        with store.begin() as conn:
            conn.execute(text("SELEC nonsense"))
    assert not isinstance(info.value, DatabaseUnavailable)
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(text("CREATE TABLE sp_test_unique (a INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO sp_test_unique VALUES (1), (1)"))


def test_sqlite_connections_overwrite_deleted_content(tmp_path):
    """``secure_delete``: a deleted value does not stay in the file's free space (Debian's SQLite has it on by
    default; other builds do not)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        conn.exec_driver_sql("CREATE TABLE t (v TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES ('Zephyrine-was-here'), ('other')")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM t WHERE v = 'Zephyrine-was-here'")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    assert b"Zephyrine-was-here" not in (tmp_path / "x.db").read_bytes()


def test_after_commit_runs_once_committed_and_the_same_key_replaces(store):
    ran = []
    with store.begin() as conn:
        assert store.after_commit(conn, "k", lambda: ran.append("first"))
        assert store.after_commit(conn, "k", lambda: ran.append("second"))
        store.after_commit(conn, "other", lambda: ran.append("other"))
        assert ran == []
    assert ran == ["second", "other"]


def test_after_commit_never_runs_after_a_rollback(store):
    ran = []
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.after_commit(conn, "k", lambda: ran.append("x"))
        raise RuntimeError
    with store.begin() as conn:
        pass
    assert ran == []


def test_after_commit_outside_a_store_transaction_is_refused(db_url):
    st = Store.from_url(db_url)
    with st.engine.begin() as conn:
        assert st.after_commit(conn, "k", lambda: None) is False
    st.dispose()


def test_a_failing_callback_does_not_undo_the_commit(store, caplog):
    def boom():
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="shopprivacy.store"), store.begin() as conn:
        store.after_commit(conn, "k", boom)
    assert "after-commit callback failed" in caplog.text
