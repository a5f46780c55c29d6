"""``path("", include("shopprivacy.integrations.django.urls"))`` mounts every SDK endpoint (unsubscribe,
preference centre, opt-in confirmation, consent endpoint and assets, ``/.well-known/gpc.json``) under
``settings.SHOPPRIVACY["url_prefix"]`` (default ``/privacy``).

When the facade cannot be built at import (a bad setting, a missing keyset, a database that is down), the
import does not fail — so ``manage.py check`` can report the problem as ``shopprivacy.E001``/``W00x`` — and the
prefix is served by one view that mounts the endpoints on the first request after the problem is fixed, and
answers 503 until then.
"""

from __future__ import annotations

import logging

from django.urls import URLPattern, path, re_path

from ...errors import ShopPrivacyError
from .http import pending_view, view_for
from .runtime import get_sp, url_prefix

log = logging.getLogger("shopprivacy.django")


def _patterns() -> list[URLPattern]:
    prefix = url_prefix()
    try:
        routes = get_sp().web_routes()
    except ShopPrivacyError as exc:
        log.error("shopprivacy endpoints answer 503 until this is fixed (see `manage.py check`): %s",
                  str(exc).splitlines()[0])
        return [re_path(r"^" + prefix.strip("/") + r"/", pending_view, name="pending"),
                path(".well-known/gpc.json", pending_view, name="pending_gpc")]
    return [path(route.full_path(prefix).lstrip("/"), view_for(route), name=route.name.replace(".", "_"))
            for route in routes]


app_name = "shopprivacy"
urlpatterns = _patterns()
