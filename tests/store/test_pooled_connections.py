"""PostgreSQL pooled connections without a ping per transaction: one the server ended is replaced silently,
found by its socket at checkout or, failing that, by the transaction's own first round trip (BEGIN)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from shopprivacy.store import engine as engine_module


@pytest.fixture
def pg_store(store):
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no server connection to lose while idle")
    return store


def _terminate_and_wait(store, pid: int) -> None:
    admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar() is True
    finally:
        admin.dispose()


def _pooled_pid(store) -> int:
    with store.begin() as conn:
        return int(conn.connection.dbapi_connection.info.backend_pid)


def test_no_ping_per_transaction(pg_store, monkeypatch):
    assert not pg_store.engine.pool._pre_ping
    pings: list[object] = []
    real = pg_store.engine.dialect.do_ping
    monkeypatch.setattr(pg_store.engine.dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    for _ in range(3):
        with pg_store.begin() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []


def test_a_connection_ended_while_idle_is_found_by_its_socket(pg_store):
    pid = _pooled_pid(pg_store)
    _terminate_and_wait(pg_store, pid)
    with pg_store.begin() as conn:
        assert conn.connection.dbapi_connection.info.backend_pid != pid
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_connection_ended_unnoticed_is_retried_at_begin(pg_store, monkeypatch):
    pid = _pooled_pid(pg_store)
    _terminate_and_wait(pg_store, pid)
    monkeypatch.setattr(engine_module, "_server_went_away", lambda _conn: False)  # as if the goodbye were late
    with pg_store.begin() as conn:
        assert conn.connection.dbapi_connection.info.backend_pid != pid
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_connection_idle_for_long_is_pinged(pg_store, monkeypatch):
    _pooled_pid(pg_store)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", -1.0)
    pings: list[object] = []
    real = pg_store.engine.dialect.do_ping
    monkeypatch.setattr(pg_store.engine.dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    with pg_store.begin() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert len(pings) == 1
