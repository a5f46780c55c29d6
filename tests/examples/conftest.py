"""Fixtures for the example Flask shop: one app per test on the ``db_url`` store (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

pytest.importorskip("flask")

from shopprivacy import Keyset

BASE = "http://localhost"


def make_app(tmp_path, db_url, *, shop_url: str | None = None, **config):
    """The Flask shop on ``db_url``; its own tables in ``shop_url`` (default: as the SDK's store). ``config``
    overrides keys of ``app.config`` (e.g. ``SHOPPRIVACY_KEYSET`` to start it again on the same data)."""
    from examples.flask_shop import create_app

    # SQLite: one file per database, as the shop runs; PostgreSQL: everything in the test's schema
    sqlite = db_url.startswith("sqlite")
    return create_app({
        "SHOP_DATA_DIR": tmp_path / "shop",
        "SHOP_DATABASE_URL": shop_url or (f"sqlite:///{tmp_path / 'shop.db'}" if sqlite else db_url),
        "SHOPPRIVACY_DATABASE_URL": db_url,
        "SHOPPRIVACY_PLATFORM_OPTIONS": {"database_url": f"sqlite:///{tmp_path / 'platform.db'}" if sqlite
                                         else db_url},
        "SHOPPRIVACY_KEYSET": Keyset.generate().to_json(),
        "SHOPPRIVACY_PUBLIC_BASE_URL": BASE,
        **config,
    })


def close_app(app) -> None:
    app.extensions["flask_shop"].engine.dispose()
    app.extensions["shopprivacy"].close()


@pytest.fixture
def app(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    yield app
    close_app(app)


@pytest.fixture
def sp(app):
    return app.extensions["shopprivacy"]


@pytest.fixture
def shop(app):
    return app.extensions["flask_shop"]


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_up(client, email: str = "jane@example.com", password: str = "correct horse battery",
            **extra: str):
    data = {"csrf_token": csrf(client, "/signup"), "email": email, "password": password, "first_name": "Jane",
            "phone": "+33 6 12 34 56 78", "address": "12 rue des Lilas\n69001 Lyon", **extra}
    return client.post("/signup", data=data)


def log_in(client, email: str = "jane@example.com", password: str = "correct horse battery"):
    return client.post("/login", data={"csrf_token": csrf(client, "/login"), "email": email, "password": password})


def mails(shop, kind: str) -> list[EmailMessage]:
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in shop.mail.messages(kind)]


def link_in(msg: EmailMessage, path: str) -> str:
    """The path and query of the first link to ``path`` in the mail's text."""
    found = re.search(re.escape(BASE + path) + r"\?t=[A-Za-z0-9._=-]+", msg.get_content())
    assert found, f"no {path} link in the mail"
    return found.group(0)[len(BASE):]


#: A profile whose values appear nowhere else, so their bytes can be looked for in the database files.
RARE_PROFILE = {"email": "zephyrine.quillon@example.com", "first_name": "Zephyrine",
                "phone": "+33 6 98 76 54 32", "address": "7 impasse des Glycines\n38000 Grenoble"}


def sqlite_files(db_path) -> dict[str, bytes]:
    """The bytes of an SQLite database and of its ``-wal`` file (empty when there is none)."""
    from pathlib import Path

    path = Path(db_path)
    wal = path.with_name(path.name + "-wal")
    return {path.name: path.read_bytes(), wal.name: wal.read_bytes() if wal.exists() else b""}


def personal_bytes(values) -> list[bytes]:
    """What must not be found in the files: each value as UTF-8, and the address as typed and casefolded."""
    return [v.encode() for v in values] + [v.lower().encode() for v in values if "@" in v]
