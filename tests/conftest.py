"""Shared fixtures.

Every test that takes ``db_url`` (directly or through ``store``/``sp``) is marked ``db`` and runs on SQLite
in the ``py`` env and on PostgreSQL in the ``postgres`` env, where ``SHOPPRIVACY_TEST_DATABASE_URL`` is set.
On PostgreSQL each test gets a schema of its own, dropped afterwards. An unreachable PostgreSQL fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from shopprivacy import Keyring, Keyset, Settings, ShopPrivacy
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
    """A fresh, empty database URL: SQLite file, or a new PostgreSQL schema when PG_ENV is set."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / 'sp.db'}"
        return
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # fails loudly when PostgreSQL is down: never a skip
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def keyset() -> Keyset:
    return Keyset.generate()


@pytest.fixture
def keyring(keyset: Keyset) -> Keyring:
    return Keyring(keyset)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    st = Store.from_url(db_url)
    st.upgrade()
    yield st
    st.dispose()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(db_url: str, keyset: Keyset) -> Settings:
    return Settings(database_url=db_url, keyset=keyset.to_json(), public_base_url="https://shop.example")


@pytest.fixture
def sp(settings: Settings, store: Store) -> Iterator[ShopPrivacy]:
    """A facade on a migrated store with the real system clock."""
    app = ShopPrivacy(settings, store=store)
    yield app
    app.close()
