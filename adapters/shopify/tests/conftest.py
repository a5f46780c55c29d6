"""Fixtures of the Shopify adapter's tests (the same store approach as the core's tests/conftest.py).

Tests taking ``db_url`` (directly or through ``sp``) are marked ``db``: SQLite by default, PostgreSQL
(a schema per test) when ``SHOPPRIVACY_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from shopify_fakes import OPTIONS, FakeTime
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions
from sqlalchemy import create_engine, text

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.store import Store

PG_ENV = "SHOPPRIVACY_TEST_DATABASE_URL"

hypothesis_settings.register_profile("default", deadline=None,
                                     suppress_health_check=[HealthCheck.function_scoped_fixture])
hypothesis_settings.register_profile("ci", deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.function_scoped_fixture])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


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
