from datetime import timedelta

import pytest

from shopprivacy.errors import InvalidInput
from shopprivacy.store import Inbox


def test_accept_once_per_source_and_delivery(store, clock):
    inbox = Inbox(store, clock=clock)
    with store.begin() as conn:
        assert inbox.accept(conn, source="shopify:a", delivery_id="w1", topic="customers/redact")
        assert not inbox.accept(conn, source="shopify:a", delivery_id="w1", topic="customers/redact")
        assert inbox.accept(conn, source="shopify:b", delivery_id="w1", topic="customers/redact")
    with pytest.raises(RuntimeError), store.begin() as conn:
        assert inbox.accept(conn, source="shopify:a", delivery_id="w2", topic="t")
        raise RuntimeError  # the acceptance is rolled back with the work
    with store.begin() as conn:
        assert inbox.accept(conn, source="shopify:a", delivery_id="w2", topic="t")
        assert inbox.forget_source(conn, "shopify:b") == 1
    clock.advance(days=10)
    assert inbox.forget_before(clock.now - timedelta(days=7)) == 2


def test_bad_ids_are_refused(store):
    inbox = Inbox(store)
    with store.begin() as conn, pytest.raises(InvalidInput):
        inbox.accept(conn, source="", delivery_id="x", topic="t")
