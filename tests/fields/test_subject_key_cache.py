"""The per-process cache of subject keys: decrypts served from it without the database, and never a key that
a shred destroyed — not after the shred, not when it was loaded while the shred was under way or uncommitted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.errors import ShreddedError
from shopprivacy.store import Store


@pytest.fixture
def sp(settings: Settings, store: Store) -> Iterator[ShopPrivacy]:
    """A facade whose cached keys stay for an hour: only a shred may drop them, never the time a slow run takes."""
    long = settings.model_copy(update={"fields": settings.fields.model_copy(
        update={"subject_key_cache_seconds": 3600})})
    app = ShopPrivacy(long, store=store)
    yield app
    app.close()


def _handle(token: str) -> str:
    return token.split(".")[1]


def test_a_cached_subject_key_decrypts_without_the_database(sp, monkeypatch):
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=1, subject="c_1")
    assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"

    def no_database(*args, **kwargs):
        raise AssertionError("the database was asked")

    monkeypatch.setattr(sp.store, "begin", no_database)
    for _ in range(3):
        assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"


def test_a_shredded_key_is_never_served_from_the_cache(sp):
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=1, subject="c_2")
    assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"
    assert sp.fields.subject_keys.cached(_handle(token)) is not None
    sp.fields.shred("c_2")
    assert sp.fields.subject_keys.cached(_handle(token)) is None
    with pytest.raises(ShreddedError):
        sp.fields.decrypt(token, context="customers.email", row=1)


def test_a_key_loaded_while_a_shred_runs_is_not_cached(sp, monkeypatch):
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=1, subject="c_3")
    keys = sp.fields.subject_keys
    keys._forget(_handle(token), None)  # cold cache: the next decrypt loads the key
    unwrap = keys._unwrap

    def shred_meanwhile(handle, kid, wrapped):  # the row was read before the shred; the key unwraps after it
        aead = unwrap(handle, kid, wrapped)
        assert sp.fields.shred("c_3") is True
        return aead

    monkeypatch.setattr(keys, "_unwrap", shred_meanwhile)
    assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"  # read before
    monkeypatch.setattr(keys, "_unwrap", unwrap)
    assert keys.cached(_handle(token)) is None
    with pytest.raises(ShreddedError):
        sp.fields.decrypt(token, context="customers.email", row=1)


def test_a_key_loaded_before_the_shred_commits_is_dropped_at_the_commit(sp):
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=1, subject="c_4")
    with sp.store.begin() as conn:
        assert sp.fields.shred("c_4", conn=conn) is True
        # another request, on its own connection, still sees the committed key and caches it
        assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"
    assert sp.fields.subject_keys.cached(_handle(token)) is None
    with pytest.raises(ShreddedError):
        sp.fields.decrypt(token, context="customers.email", row=1)


def test_shred_all_empties_the_cache_at_the_commit(sp):
    token = sp.fields.encrypt("jane@example.com", context="customers.email", row=1, subject="c_5")
    with sp.store.begin() as conn:
        assert sp.fields.shred_all(conn=conn) == 1
        assert sp.fields.decrypt(token, context="customers.email", row=1) == "jane@example.com"
    with pytest.raises(ShreddedError):
        sp.fields.decrypt(token, context="customers.email", row=1)
