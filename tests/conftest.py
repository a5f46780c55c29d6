"""Shared fixtures.

Every test that takes ``db_url`` (directly or through ``store``/``sp``) is marked ``db`` and runs on SQLite
in the ``py`` env and on PostgreSQL in the ``postgres`` env, where ``SHOPPRIVACY_TEST_DATABASE_URL`` is set.
On PostgreSQL each test gets a schema of its own, dropped afterwards. An unreachable PostgreSQL fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.store import Store
from shopprivacy.testing import (  # noqa: F401 - fixtures used by name
    FakeClock,
    clock,
    db_url,
    keyring,
    keyset,
    load_hypothesis_profile,
    mark_db_tests,
    store,
)

load_hypothesis_profile()

#: Django's settings are process-wide: the Django shop's suite runs in a pytest process of its own, started by
#: ``tests/examples/test_django_shop.py`` with this variable set.
DJANGO_SHOP_PROCESS = "DJANGO_SHOP_TEST_PROCESS"
collect_ignore = [] if os.environ.get(DJANGO_SHOP_PROCESS) else ["examples/django_shop"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_db_tests(items)


@pytest.fixture
def settings(db_url: str, keyset: Keyset) -> Settings:
    return Settings(database_url=db_url, keyset=keyset.to_json(), public_base_url="https://shop.example")


@pytest.fixture
def sp(settings: Settings, store: Store) -> Iterator[ShopPrivacy]:
    """A facade on a migrated store with the real system clock."""
    app = ShopPrivacy(settings, store=store)
    yield app
    app.close()
