"""Django integration: add ``"shopprivacy.integrations.django"`` to ``INSTALLED_APPS``.

Settings come from ``settings.SHOPPRIVACY`` (a dict of lower-case setting names, e.g.
``{"database_url": ..., "keyset_file": ..., "platform": "shopify", "url_prefix": "/privacy"}``) over the
``SHOPPRIVACY_*`` environment. ``path("", include("shopprivacy.integrations.django.urls"))`` mounts every SDK
endpoint; ``ConsentMiddleware`` puts ``request.shopprivacy_consent`` on each request;
``{% load shopprivacy %}{% shopprivacy_banner %}`` renders the banner; management commands
``shopprivacy`` (any core command), ``shopprivacy_run_due`` and ``shopprivacy_doctor``; ``manage.py check``
reports missing keys and an outdated schema.
"""

from __future__ import annotations

from .. import DidNotEnable, require_version

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without Django installed
    raise DidNotEnable("the Django integration needs Django: pip install 'shopprivacy[django]'") from exc
else:
    require_version("Django", (5, 2), "django")

from .runtime import get_sp, settings_environ

__all__ = ["get_sp", "settings_environ"]
