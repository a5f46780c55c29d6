"""Unsubscribe links and headers for a whole mailing: one call, one read, a write only for addresses not
recorded yet; a single link for a recorded address writes nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select

from shopprivacy.email.tables import email_subjects
from shopprivacy.errors import InvalidInput, NotFoundError

from .conftest import token_of


@pytest.fixture
def writes(esp, monkeypatch):
    """The write transactions begun on the store (``begin()`` without ``write=False``)."""
    begun: list[bool] = []
    real = esp.store.begin

    @contextmanager
    def counting(*, write: bool = True):
        if write:
            begun.append(True)
        with real(write=write) as conn:
            yield conn

    monkeypatch.setattr(esp.store, "begin", counting)
    return begun


def test_headers_for_many_match_headers_one_by_one(esp):
    addresses = [f"user{i}@example.com" for i in range(5)]
    many = esp.email.headers_for_many(addresses, "newsletter")
    assert list(many) == addresses
    for address in addresses:
        one = esp.email.headers(address, "newsletter")
        assert set(one) == set(many[address]) == {"List-Unsubscribe", "List-Unsubscribe-Post"}
        assert many[address]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        subject, list_id = esp.email.suppression.read_unsubscribe(token_of(many[address]["List-Unsubscribe"][1:-1]))
        assert (subject, list_id) == (esp.email.subjects.subject_of(address), "newsletter")


def test_a_mailing_writes_once_for_new_addresses_and_never_again(esp, writes):
    addresses = [f"user{i}@example.com" for i in range(30)]
    esp.email.headers_for_many(addresses, "newsletter")
    assert len(writes) == 1
    with esp.store.begin(write=False) as conn:
        assert len(conn.execute(select(email_subjects.c.subject)).all()) == 30
    esp.email.headers_for_many(addresses, "offers")
    esp.email._sending.unsubscribe_urls(addresses[:3], "newsletter")
    esp.email.unsubscribe_url(addresses[0], "newsletter")
    esp.email.headers(addresses[1], "newsletter")
    esp.email.preferences_url(addresses[2])
    assert len(writes) == 1  # every address was recorded already: read only


def test_a_link_from_the_bulk_call_unsubscribes(esp):
    urls = esp.email._sending.unsubscribe_urls(["a@example.com", "b@example.com"], "newsletter")
    esp.email.suppression.unsubscribe(token_of(urls["b@example.com"]))
    assert esp.email.is_suppressed("b@example.com", "newsletter")
    assert not esp.email.is_suppressed("a@example.com", "newsletter")


def test_customer_refs_are_recorded_and_changed_only_when_they_differ(esp, writes):
    esp.email._sending.unsubscribe_urls(["a@example.com", "b@example.com"], "newsletter", customer_refs=["c1", None])
    esp.email._sending.unsubscribe_urls(["a@example.com", "b@example.com"], "newsletter", customer_refs=["c1", None])
    assert len(writes) == 1
    esp.email._sending.unsubscribe_urls(["a@example.com", "b@example.com"], "newsletter", customer_refs=[None, "c2"])
    assert len(writes) == 2
    with esp.store.begin(write=False) as conn:
        refs = dict(conn.execute(select(email_subjects.c.subject, email_subjects.c.customer_ref)).all())
    subject_of = esp.email.subjects.subject_of
    assert refs == {subject_of("a@example.com"): "c1", subject_of("b@example.com"): "c2"}


def test_bad_input_is_refused_before_any_write(esp, writes):
    with pytest.raises(InvalidInput):
        esp.email._sending.unsubscribe_urls(["a@example.com"], "newsletter", customer_refs=["c1", "c2"])
    with pytest.raises(NotFoundError):
        esp.email.headers_for_many(["a@example.com"], "no-such-list")
    assert writes == []


def test_the_same_address_twice_in_a_mailing(esp):
    urls = esp.email._sending.unsubscribe_urls(["a@example.com", "a@example.com"], "newsletter")
    assert list(urls) == ["a@example.com"]
