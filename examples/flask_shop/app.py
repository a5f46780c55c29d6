"""The app factory: ``flask --app examples.flask_shop.app run`` (or ``python -m shopprivacy.demo``).

Everything lives in one data folder (``SHOP_DATA_DIR``, default ``./demo-data/flask_shop``): the keyset, the
SDK's database, the shop's database, the local reference platform's database and the mail folder. Any
``SHOPPRIVACY_*`` variable (or ``app.config`` key) overrides the defaults, e.g. a PostgreSQL database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from shopprivacy import Keyset
from shopprivacy.integrations.flask import ShopPrivacyFlask
from shopprivacy.store.engine import make_engine

from ..shop_common import STATIC_DIR
from ..shop_common.mailbox import MailFolder
from . import commands, security, views
from .accounts import Accounts
from .context import Shop
from .db import create_tables

DEFAULT_DATA_DIR = Path("demo-data") / "flask_shop"


def _secret_key(data: Path) -> str:
    path = data / "flask-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def _configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    app.config.update(config or {})
    data = Path(app.config.get("SHOP_DATA_DIR") or os.environ.get("SHOP_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    data.mkdir(parents=True, exist_ok=True)
    app.config["SHOP_DATA_DIR"] = data

    def default(key: str, value: Any) -> None:
        if key not in app.config and not os.environ.get(key):
            app.config[key] = value

    default("SHOP_DATABASE_URL", f"sqlite:///{data / 'shop.db'}")
    default("SHOP_MAIL_DIR", data / "mail")
    default("SHOP_AUTO_MIGRATE", True)
    default("SHOPPRIVACY_DATABASE_URL", f"sqlite:///{data / 'shopprivacy.db'}")
    default("SHOPPRIVACY_PLATFORM_OPTIONS", {"database_url": f"sqlite:///{data / 'platform.db'}"})
    default("SHOPPRIVACY_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    default("SHOPPRIVACY_SMS__SHOP_NAME", "Flask shop")
    default("SHOPPRIVACY_DECLARATION", {"file": str(Path(__file__).with_name("declaration.toml"))})
    if not (app.config.get("SHOPPRIVACY_KEYSET") or os.environ.get("SHOPPRIVACY_KEYSET")):
        keyfile = Path(app.config.get("SHOPPRIVACY_KEYSET_FILE") or os.environ.get("SHOPPRIVACY_KEYSET_FILE")
                       or data / "keys.json")
        if not keyfile.exists():
            Keyset.generate().write(keyfile)
        app.config["SHOPPRIVACY_KEYSET_FILE"] = str(keyfile)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SHOP_SECRET_KEY") or _secret_key(data)
    base = str(app.config.get("SHOPPRIVACY_PUBLIC_BASE_URL") or os.environ.get("SHOPPRIVACY_PUBLIC_BASE_URL", ""))
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=base.startswith("https:"))


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the shop. ``config`` overrides ``app.config`` keys (``SHOP_*``, ``SHOPPRIVACY_*``, Flask's)."""
    app = Flask(__name__, static_folder=STATIC_DIR)
    _configure(app, config)
    ShopPrivacyFlask(app)
    sp = ShopPrivacyFlask.sp(app)
    if app.config.get("SHOP_AUTO_MIGRATE", True):
        sp.store.upgrade()
    engine = make_engine(str(app.config.get("SHOP_DATABASE_URL") or os.environ["SHOP_DATABASE_URL"]))
    create_tables(engine)
    accounts = Accounts(sp, engine)
    accounts.encrypt_plain_names()
    mail = MailFolder(Path(app.config.get("SHOP_MAIL_DIR") or os.environ["SHOP_MAIL_DIR"]))
    sp.rights.register_source(accounts.rights_source())
    sp.rights.register_source(sp.sms.rights_source())  # marketing-text consent: exported and erased too
    sp.rights.set_sender(mail.send_notice)
    sp.email.set_sender(mail.send_link)
    sp.declaration.set_sender(mail.send_change_notice)  # privacy notice changes (`declaration publish`)
    app.extensions["flask_shop"] = Shop(sp, engine, accounts, mail)
    security.init_app(app)
    app.register_blueprint(views.bp)
    commands.init_app(app)
    return app
