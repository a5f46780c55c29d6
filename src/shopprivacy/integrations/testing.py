"""Drive an SDK endpoint with hostile requests through the Flask and the Django test clients (for test suites).

An adapter's webhook, or any route of ``ShopPrivacy.web_routes()``, is mounted exactly as the integrations mount
it; each request drawn from a hypothesis strategy is sent, and :func:`assert_refusal_writes_nothing` holds: no
5xx, and a refused request (4xx) or any non-POST writes no row of the ``sp_`` tables. Requires Flask, Django,
pytest and hypothesis (test dependencies, not the SDK's)::

    def test_through_flask(tmp_path):
        drive_through_flask(settings, tmp_path, "/privacy/webhooks/acme", deliveries(), genuine=signed())
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ..app import ShopPrivacy
from ..settings import Settings
from ..testing import fresh_database_url, row_counts


class WireRequest(Protocol):
    """A request to send: its method, raw body and the header values as a WSGI server would pass them."""

    method: str
    body: bytes

    def wire_headers(self) -> dict[str, str]: ...


Send = Callable[[WireRequest], int]


def hostile_text(*extra: str) -> st.SearchStrategy[str]:
    """Any text (lone surrogates, NULs and control characters included), odd or long values, and ``extra``."""
    return st.one_of(st.text(st.characters(exclude_categories=()), max_size=30),
                     st.sampled_from(["", "\x00", "\ud800", "x" * 300, *extra]))


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON values of any type, nested a little, with ``text`` for strings and keys."""
    return st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3), max_leaves=10)


def with_json_field(body: bytes, path: tuple[str, ...], value: Any) -> bytes:
    """``body`` (a JSON object, else an empty one) with ``value`` at ``path``, encoded as a client could send it
    (surrogates as their UTF-8 bytes)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    target = data
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target.get(key, {}), dict) else {}
    target[path[-1]] = value
    return json.dumps(data).encode("utf-8", "surrogatepass")


def assert_refusal_writes_nothing(sp: ShopPrivacy, send: Send, request: WireRequest) -> None:
    """Send ``request``: never a 5xx; when refused (4xx), or not a POST, no ``sp_`` table gained or lost a row."""
    before = row_counts(sp.store)
    status = send(request)
    assert status < 500, status
    if status >= 400 or request.method != "POST":
        assert row_counts(sp.store) == before, status


def _drive(sp: ShopPrivacy, send: Send, requests: st.SearchStrategy[Any], genuine: WireRequest,
           examples: int) -> None:
    assert send(genuine) == 200  # a genuine request is accepted

    @hsettings(max_examples=examples, database=None)
    @given(request=requests)
    def run(request: WireRequest) -> None:
        assert_refusal_writes_nothing(sp, send, request)

    run()
    sp.audit.verify()


def drive_through_flask(settings: Mapping[str, Any], folder: Path, path: str, requests: st.SearchStrategy[Any], *,
                        genuine: WireRequest, examples: int = 60) -> None:
    """Mount the SDK's routes on a Flask app (on a fresh database in ``folder``) and drive ``path``."""
    import flask

    from .flask import ShopPrivacyFlask

    with fresh_database_url(folder) as url:
        sp = ShopPrivacy(Settings(**{**settings, "database_url": url}))
        try:
            sp.store.upgrade()
            app = flask.Flask(__name__)
            app.testing = True  # a crash fails the test instead of becoming a 500 page
            ShopPrivacyFlask(app, sp=sp)

            def send(request: WireRequest) -> int:
                # werkzeug's test client refuses CR and LF in a header value, as real servers do before any app
                headers = {k: v.replace("\r", "").replace("\n", "") for k, v in request.wire_headers().items()}
                return app.test_client().open(path, method=request.method, headers=headers,
                                              data=request.body).status_code

            _drive(sp, send, requests, genuine, examples)
        finally:
            sp.close()


def drive_through_django(settings: Mapping[str, Any], folder: Path, path: str, requests: st.SearchStrategy[Any], *,
                         genuine: WireRequest, examples: int = 60) -> None:
    """Mount the SDK's routes as ``shopprivacy.integrations.django.urls`` does (on a fresh database in ``folder``)
    and drive ``path``. Configures Django with nothing else unless the process did it first."""
    import django
    from django.conf import settings as django_settings
    from django.test import Client, override_settings
    from django.urls import path as url_path

    from .django import get_sp
    from .django.http import view_for

    urlconf = "shopprivacy_driven_urls"
    if not django_settings.configured:
        django_settings.configure(SECRET_KEY="test-only", ALLOWED_HOSTS=["testserver"],  # noqa: S106 - a test's
                                  ROOT_URLCONF=urlconf, MIDDLEWARE=[], INSTALLED_APPS=[], SHOPPRIVACY={})
        django.setup()
    urls = sys.modules.setdefault(urlconf, types.ModuleType(urlconf))
    with fresh_database_url(folder) as url, override_settings(SHOPPRIVACY={**settings, "database_url": url},
                                                              ROOT_URLCONF=urlconf):
        get_sp.cache_clear()
        sp = get_sp()
        try:
            sp.store.upgrade()
            urls.urlpatterns = [url_path(r.full_path("/privacy").lstrip("/"), view_for(r))  # type: ignore[attr-defined]
                                for r in sp.web_routes()]

            def send(request: WireRequest) -> int:
                headers = request.wire_headers()
                content_type = headers.pop("Content-Type", "")
                answer = Client().generic(request.method, path, data=request.body, content_type=content_type,
                                          headers=headers)
                return int(answer.status_code)

            _drive(sp, send, requests, genuine, examples)
        finally:
            sp.close()
            get_sp.cache_clear()


__all__ = ["Send", "WireRequest", "assert_refusal_writes_nothing", "drive_through_django", "drive_through_flask",
           "hostile_text", "json_values", "with_json_field"]
