"""SQLite: a process's write transactions on one file take turns on a lock of the process, not in SQLite's busy
handler (which sleeps between tries): concurrent writers of one process never meet "database is locked"."""

from __future__ import annotations

import threading

from sqlalchemy import text

from shopprivacy.store import Store
from shopprivacy.store import engine as engine_module


def test_writers_of_one_process_take_turns_without_the_busy_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_SECONDS", 0)  # SQLite would refuse a second writer at once
    url = f"sqlite:///{tmp_path / 'w.db'}"
    first, second = Store.from_url(url), Store.from_url(url)  # two engines on one file share the turn
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    errors: list[BaseException] = []

    def write(store: Store) -> None:
        try:
            for i in range(20):
                with store.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
                    conn.execute(text("SELECT count(*) FROM t")).scalar()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with first.begin(write=False) as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 80
    first.dispose()
    second.dispose()


def test_a_write_transaction_inside_another_of_the_same_thread_is_not_blocked_by_the_turn(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'n.db'}")
    with store.begin(), store.begin(write=False) as inner:
        assert inner.execute(text("SELECT 1")).scalar() == 1
    store.dispose()
