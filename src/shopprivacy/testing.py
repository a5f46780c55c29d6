"""Pytest fixtures for testing code that uses shopprivacy (the SDK's own and its adapters' suites use them).

Import what you need into your ``conftest.py``; nothing is registered automatically::

    from shopprivacy.testing import FakeClock, clock, db_url, keyring, keyset, mark_db_tests, store  # noqa: F401

    def pytest_collection_modifyitems(items):
        mark_db_tests(items)

``db_url`` is an SQLite file in the test's temporary folder, or, when ``SHOPPRIVACY_TEST_DATABASE_URL`` names a
PostgreSQL database, a schema of its own that is dropped afterwards. An unreachable PostgreSQL fails the test;
it is never skipped. Requires pytest (a test dependency, not one of the SDK's).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import pytest
from sqlalchemy import Engine, create_engine, func, inspect, literal, select, table, text, union_all

from .keys import Keyring, Keyset
from .store import Store

if TYPE_CHECKING:
    from .app import ShopPrivacy
    from .web.http import Request, Response

PG_ENV = "SHOPPRIVACY_TEST_DATABASE_URL"


def mark_db_tests(items: Iterable[pytest.Item]) -> None:
    """Mark every test using ``db_url`` (directly or through ``store``) with ``db``, so ``-m db`` selects the
    tests to run again on PostgreSQL."""
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite file, or a new PostgreSQL schema when the variable is set."""
    with fresh_database_url(tmp_path) as url:
        yield url


@contextmanager
def fresh_database_url(folder: Path) -> Iterator[str]:
    """What :func:`db_url` yields, for fixtures of a wider scope: an SQLite file in ``folder``, or a PostgreSQL
    schema of its own (dropped on exit) when ``SHOPPRIVACY_TEST_DATABASE_URL`` is set. Mark their tests ``db``."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite:///{folder / 'sp.db'}"
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
    """A freshly generated keyset."""
    return Keyset.generate()


@pytest.fixture
def keyring(keyset: Keyset) -> Keyring:
    return Keyring(keyset)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The SDK's store on ``db_url``, migrated to the current schema."""
    st = Store.from_url(db_url)
    st.upgrade()
    yield st
    st.dispose()


class FakeClock:
    """A clock the test moves by hand: pass it as ``ShopPrivacy(..., clock=clock)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def load_hypothesis_profile() -> None:
    """Register the ``default`` and ``ci`` hypothesis profiles (no deadline: CI machines are slow and shared)
    and load the one ``HYPOTHESIS_PROFILE`` names."""
    from hypothesis import HealthCheck, settings

    settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    settings.register_profile("ci", deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.function_scoped_fixture])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def respond(sp: ShopPrivacy, request: Request, *, url_prefix: str = "/privacy") -> Response:
    """Answer a plain request as the Flask and Django integrations do: through the route mounted at
    ``request.path`` (:meth:`~shopprivacy.web.routes.Route.respond`, with its method, size and header checks);
    404 when no route is mounted there."""
    from .web.http import Response

    for route in sp.web_routes():
        if route.full_path(url_prefix) == request.path:
            return route.respond(request)
    return Response.text("not found", status=404)


_SP_TABLES: WeakKeyDictionary[Engine, tuple[str, ...]] = WeakKeyDictionary()


def row_counts(store: Store) -> dict[str, int]:
    """Rows in every ``sp_`` table of ``store``, in one query: compare two calls to show a request wrote nothing.

    The table names are read from the database once per engine (catalog queries are slow on a busy server), so
    upgrade the store before the first call."""
    with store.begin(write=False) as conn:
        names = _SP_TABLES.get(store.engine)
        if not names:
            names = _SP_TABLES[store.engine] = tuple(sorted(
                n for n in inspect(conn).get_table_names() if n.startswith("sp_")))
        query = union_all(*(select(literal(n).label("name"), func.count().label("n")).select_from(table(n))
                            for n in names))
        return {name: n for name, n in conn.execute(query)}
