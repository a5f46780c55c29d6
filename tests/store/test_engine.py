import logging

import pytest

from shopprivacy.store import Store


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
