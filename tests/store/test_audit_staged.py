"""Audit entries staged in a transaction (``AuditLog.stage``): chained last, in one batch, just before the commit,
in the order made; checked at once; gone with a rollback; and as tamper-evident as appended ones."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from shopprivacy.errors import AuditChainError, InvalidInput
from shopprivacy.store import AuditLog
from shopprivacy.store.schema import audit_head, audit_log


@pytest.fixture
def audit(store, keyring, clock):
    return AuditLog(store, keyring, clock=clock)


def _actions(audit):
    return [(e.seq, e.action) for e in audit.entries()]


def test_staged_entries_are_written_at_the_commit_in_order(audit, store):
    with store.begin() as conn:
        audit.stage(conn, actor="system", action="a.one", subject="p_1", meta={"n": 1})
        audit.stage(conn, actor="system", action="a.two", fields=["email"])
        assert _actions(audit) == []  # not written yet: the chain's lock is not taken
    assert _actions(audit) == [(1, "a.one"), (2, "a.two")]
    assert audit.verify().entries == 2


def test_an_append_after_staged_entries_keeps_the_order_made(audit, store):
    with store.begin() as conn:
        audit.stage(conn, actor="system", action="a.first")
        assert audit.append(conn, actor="system", action="a.second") == 2
        audit.stage(conn, actor="system", action="a.third")
    assert [a for _, a in _actions(audit)] == ["a.first", "a.second", "a.third"]
    audit.verify()


def test_bad_input_is_refused_when_staged(audit, store):
    with pytest.raises(InvalidInput), store.begin() as conn:
        audit.stage(conn, actor="system", action="a.ok")
        audit.stage(conn, actor="", action="a.bad")
    assert _actions(audit) == []


def test_a_rollback_drops_staged_entries(audit, store):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), store.begin() as conn:
        audit.stage(conn, actor="system", action="a.gone")
        raise Abort
    with store.begin() as conn:
        audit.stage(conn, actor="system", action="a.kept")
    assert _actions(audit) == [(1, "a.kept")]


def test_outside_a_store_transaction_an_entry_is_appended_at_once(audit, store):
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("SELECT 1")
        audit.stage(conn, actor="system", action="a.now")
        assert [a for _, a in audit_rows(conn)] == ["a.now"]
    audit.verify()


def audit_rows(conn):
    return [(r.seq, r.action) for r in conn.execute(audit_log.select().order_by(audit_log.c.seq))]


def test_an_edited_staged_entry_is_detected(audit, store):
    with store.begin() as conn:
        for i in range(3):
            audit.stage(conn, actor="system", action="a.batch", meta={"n": i})
    with store.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(action="a.other"))
    with pytest.raises(AuditChainError) as err:
        audit.verify()
    assert err.value.seq == 2


def test_concurrent_transactions_staging_entries_keep_one_chain(audit, store):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                with store.begin() as conn:
                    audit.stage(conn, actor="system", action="a.thread", meta={"t": n, "i": i})
                    audit.stage(conn, actor="system", action="a.thread2", meta={"t": n, "i": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [str(e) for e in errors]
    assert audit.verify().entries == 40


def test_two_logs_moving_one_head_in_turn_keep_one_chain(store, keyring, clock):
    first, second = AuditLog(store, keyring, clock=clock), AuditLog(store, keyring, clock=clock)
    for i in range(6):  # each one's remembered head is stale every other time: the full path reads the head
        (first if i % 2 else second).record(actor="system", action="a.turn", meta={"i": i})
        first.record(actor="system", action="a.again", meta={"i": i})
    assert first.verify().entries == 12


def test_a_head_removed_behind_a_remembered_one_is_still_found(audit, store):
    audit.record(actor="system", action="a.one")
    audit.record(actor="system", action="a.two")  # remembered head: entry 2
    with store.begin() as conn:
        conn.execute(delete(audit_head))
    audit.record(actor="system", action="a.three")
    assert [e.action for e in audit.entries()] == ["a.one", "a.two", "audit.bad_head", "a.three"]
