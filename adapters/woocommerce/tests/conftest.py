"""Fixtures: a fake WooCommerce behind ``responses``, the adapter, and SDK facades on SQLite or PostgreSQL.

Tests taking ``db_url`` are marked ``db``; with ``SHOPPRIVACY_TEST_DATABASE_URL`` set each gets a fresh
PostgreSQL schema (the same approach as the core's tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from shopprivacy_woocommerce import WooClient, WooCommerceAdapter, WooCommerceOptions
from shopprivacy_woocommerce.testing import FakeWooCommerce

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.store import Store
from shopprivacy.testing import db_url, load_hypothesis_profile, mark_db_tests  # noqa: F401 - fixtures, found by name

SITE = "https://shop.example"
WEBHOOK_SECRET = "whsec-0123456789abcdef"

load_hypothesis_profile()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_db_tests(items)


def make_options(**extra: object) -> WooCommerceOptions:
    data = {"site_url": SITE, "consumer_key": "ck_test_key_123", "consumer_secret": "cs_test_secret_456",
            "webhook_secret": WEBHOOK_SECRET, "max_wait": "5", **{k: str(v) for k, v in extra.items()}}
    return WooCommerceOptions.parse(data)


class Sleeps(list):  # type: ignore[type-arg]
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def shop(rsps: responses.RequestsMock) -> FakeWooCommerce:
    fake = FakeWooCommerce(SITE)
    fake.install(rsps)
    return fake


@pytest.fixture
def adapter(shop: FakeWooCommerce, sleeps: Sleeps) -> Iterator[WooCommerceAdapter]:
    options = make_options()
    woo = WooCommerceAdapter(options, client=WooClient(options, sleep=sleeps))
    yield woo
    woo.close()


@pytest.fixture
def sp(db_url: str, adapter: WooCommerceAdapter) -> Iterator[ShopPrivacy]:
    """A facade on a migrated store with the WooCommerce adapter."""
    store = Store.from_url(db_url)
    store.upgrade()
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(), platform="woocommerce",
                        public_base_url="https://shop.example")
    app = ShopPrivacy(settings, store=store, adapter=adapter)
    yield app
    app.close()


@pytest.fixture
def options_factory():  # type: ignore[no-untyped-def]
    """``options_factory(**overrides) -> WooCommerceOptions``."""
    return make_options
