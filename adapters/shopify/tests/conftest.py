"""Fixtures of the Shopify adapter's tests (the same store approach as the core's tests/conftest.py).

Tests taking ``db_url`` (directly or through ``sp``) are marked ``db``: SQLite by default, PostgreSQL
(a schema per test) when ``SHOPPRIVACY_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shopify_fakes import OPTIONS, FakeTime
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.store import Store
from shopprivacy.testing import db_url, load_hypothesis_profile, mark_db_tests  # noqa: F401 - fixtures, found by name

load_hypothesis_profile()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_db_tests(items)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def options() -> ShopifyOptions:
    return ShopifyOptions.from_mapping(OPTIONS)


@pytest.fixture
def adapter(options: ShopifyOptions, fake_time: FakeTime) -> Iterator[ShopifyAdapter]:
    shop = ShopifyAdapter(options, sleep=fake_time.sleep, clock=fake_time.clock)
    yield shop
    shop.close()


@pytest.fixture
def sp(db_url: str, adapter: ShopifyAdapter) -> Iterator[ShopPrivacy]:
    """A facade on a migrated store with the Shopify adapter."""
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(),
                        public_base_url="https://shop.example", platform="shopify", platform_options=OPTIONS)
    store = Store.from_url(db_url)
    store.upgrade()
    app = ShopPrivacy(settings, store=store, adapter=adapter)
    yield app
    app.close()
