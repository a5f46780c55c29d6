"""The Django shop's project, configured once for this process (``tests/examples/test_django_shop.py`` starts
it): its own tables in an SQLite file or a PostgreSQL schema of their own; per test a fresh SDK database
(``db_url``), mail folder and platform, and no customers."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

django = pytest.importorskip("django")

from sqlalchemy import create_engine, text  # noqa: E402

from shopprivacy import Keyset  # noqa: E402
from shopprivacy.testing import PG_ENV  # noqa: E402

from ..conftest import BASE  # noqa: E402 - the SDK's public base URL, as in the Flask shop's tests

_DATA = Path(tempfile.mkdtemp(prefix="django-shop-"))
_PG = os.environ.get(PG_ENV)
_SCHEMA = "dj_" + secrets.token_hex(6)
if _PG:
    with create_engine(_PG, isolation_level="AUTOCOMMIT").connect() as _conn:
        _conn.execute(text(f'CREATE SCHEMA "{_SCHEMA}"'))
    os.environ["SHOP_DATABASE_URL"] = f"{_PG}{'&' if '?' in _PG else '?'}options=-csearch_path%3D{_SCHEMA}"
os.environ.update(SHOP_DATA_DIR=str(_DATA), SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
                  SHOPPRIVACY_PUBLIC_BASE_URL=BASE, DJANGO_SETTINGS_MODULE="examples.django_shop.settings")
django.setup()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _PG:
        from django.db import connections

        connections.close_all()
        with create_engine(_PG, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{_SCHEMA}" CASCADE'))


@pytest.fixture(scope="session")
def migrated() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@pytest.fixture
def sp(migrated: None, db_url: str, tmp_path: Path) -> Iterator[object]:
    """The shop's facade on a fresh SDK database, with the mail folder in ``tmp_path / "mail"``."""
    from django.conf import settings
    from django.test import override_settings
    from examples.django_shop.store.models import Customer

    from shopprivacy.integrations.django import get_sp

    platform_url = db_url if not db_url.startswith("sqlite") else f"sqlite:///{tmp_path / 'platform.db'}"
    config = {**settings.SHOPPRIVACY, "database_url": db_url, "platform_options": {"database_url": platform_url}}
    Customer.objects.all().delete()
    with override_settings(SHOPPRIVACY=config, SHOP_MAIL_DIR=tmp_path / "mail"):
        get_sp.cache_clear()
        facade = get_sp()
        facade.store.upgrade()
        yield facade
        facade.close()
        get_sp.cache_clear()


@pytest.fixture
def shop(sp: object) -> SimpleNamespace:
    """What tests look at: the mail folder and the local reference platform."""
    from examples.django_shop.store.privacy import mail, platform

    return SimpleNamespace(mail=mail(), platform=platform())


@pytest.fixture
def client(sp: object) -> object:
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def new_client() -> object:
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def csrf(client, path: str = "/") -> str:
    html = client.get(path).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_up(client, email: str = "jane@example.com", password: str = "correct horse battery", **extra: str):
    data = {"csrfmiddlewaretoken": csrf(client, "/signup"), "email": email, "password": password,
            "first_name": "Jane", "phone": "+33 6 12 34 56 78", "address": "12 rue des Lilas\n69001 Lyon", **extra}
    return client.post("/signup", data)


def log_in(client, email: str = "jane@example.com", password: str = "correct horse battery"):
    return client.post("/login", {"csrfmiddlewaretoken": csrf(client, "/login"), "email": email,
                                  "password": password})


def manage(*args: str) -> str:
    """Run a management command; its output."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
