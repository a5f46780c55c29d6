"""Fixtures: a fake WooCommerce behind ``responses``, the adapter, and SDK facades on SQLite or PostgreSQL.

Tests taking ``db_url`` are marked ``db``; with ``SHOPPRIVACY_TEST_DATABASE_URL`` set each gets a fresh
PostgreSQL schema (the same approach as the core's tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from shopprivacy_woocommerce import WooClient, WooCommerceAdapter, WooCommerceOptions
from shopprivacy_woocommerce.testing import FakeWooCommerce
from sqlalchemy import create_engine, text

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.store import Store

PG_ENV = "SHOPPRIVACY_TEST_DATABASE_URL"
SITE = "https://shop.example"
WEBHOOK_SECRET = "whsec-0123456789abcdef"

hypothesis_settings.register_profile("default", deadline=None,
                                     suppress_health_check=[HealthCheck.function_scoped_fixture])
hypothesis_settings.register_profile("ci", deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.function_scoped_fixture])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


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
def db_url(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / 'sp.db'}"
        return
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
