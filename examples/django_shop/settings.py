"""Settings of the Django shop. Everything lives in one data folder (``SHOP_DATA_DIR``, default
``./demo-data/django_shop``): the keyset, the SDK's database, the shop's database, the local reference
platform's database and the mail folder. ``SHOP_DATABASE_URL`` (``sqlite:///...`` or
``postgresql://...``) moves the shop's tables; any ``SHOPPRIVACY_*`` variable overrides the SDK's defaults.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from shopprivacy import Keyset

DATA_DIR = Path(os.environ.get("SHOP_DATA_DIR") or Path("demo-data") / "django_shop").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    path = DATA_DIR / "django-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def _database(url: str) -> dict[str, Any]:
    """A Django ``DATABASES`` entry for an SQLAlchemy-style URL (the form the SDK's settings use)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":  # deleted rows are overwritten, not left in the file's free pages
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": u.database or ":memory:",
                "OPTIONS": {"init_command": "PRAGMA secure_delete=ON;"}}
    if u.get_backend_name() == "postgresql":
        options = {"options": str(u.query["options"])} if "options" in u.query else {}
        return {"ENGINE": "django.db.backends.postgresql", "NAME": u.database, "USER": u.username or "",
                "PASSWORD": u.password or "", "HOST": u.host or "", "PORT": str(u.port or ""), "OPTIONS": options}
    raise ValueError("SHOP_DATABASE_URL: use sqlite:/// or postgresql://")


SECRET_KEY = os.environ.get("SHOP_SECRET_KEY") or _secret_key()
DEBUG = os.environ.get("SHOP_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", *filter(None, os.environ.get("SHOP_HOSTS", "").split(","))]

INSTALLED_APPS = [
    "django.contrib.sessions",
    "django.contrib.messages",
    "shopprivacy.integrations.django",
    "examples.django_shop.store",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "examples.django_shop.store.security.ContentSecurityPolicyMiddleware",
    "shopprivacy.integrations.django.middleware.ConsentMiddleware",
]
ROOT_URLCONF = "examples.django_shop.urls"
WSGI_APPLICATION = "examples.django_shop.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.messages.context_processors.messages",
                                       "examples.django_shop.store.views.shop_context"]},
}]
DATABASES = {"default": _database(os.environ.get("SHOP_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'shop.db'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# scrypt, as the Flask shop (werkzeug); Django's default PBKDF2 works as well
PASSWORD_HASHERS = ["django.contrib.auth.hashers.ScryptPasswordHasher"]

USE_I18N = True
USE_TZ = True
LANGUAGE_CODE = "en"
# the banner's languages: LocaleMiddleware picks one from Accept-Language, the banner tag follows it
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español"), ("it", "Italiano"),
             ("nl", "Nederlands"), ("ar", "العربية")]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "examples.django_shop.store.security.csrf_failure"
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}

SHOP_MAIL_DIR = Path(os.environ.get("SHOP_MAIL_DIR") or DATA_DIR / "mail")

SHOPPRIVACY: dict[str, Any] = {
    "url_prefix": "/privacy",
    # registers the shop's model as a rights source and the mail folder as the SDK's sender
    "configure": "examples.django_shop.store.privacy.configure",
}


def _default(key: str, value: Any) -> None:
    """An SDK setting unless the ``SHOPPRIVACY_<KEY>`` variable gives one (the dict would win over it)."""
    if not os.environ.get("SHOPPRIVACY_" + key.upper()):
        SHOPPRIVACY[key] = value


_default("database_url", f"sqlite:///{DATA_DIR / 'shopprivacy.db'}")
_default("platform_options", {"database_url": f"sqlite:///{DATA_DIR / 'platform.db'}"})
_default("public_base_url", "http://127.0.0.1:8000")
_default("declaration", {"file": str(Path(__file__).with_name("declaration.toml"))})
if not (os.environ.get("SHOPPRIVACY_KEYSET") or os.environ.get("SHOPPRIVACY_KEYSET_FILE")):
    _keyfile = DATA_DIR / "keys.json"
    if not _keyfile.exists():
        Keyset.generate().write(_keyfile)
    SHOPPRIVACY["keyset_file"] = str(_keyfile)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = str(
    os.environ.get("SHOPPRIVACY_PUBLIC_BASE_URL") or SHOPPRIVACY.get("public_base_url", "")).startswith("https:")
