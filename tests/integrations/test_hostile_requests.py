"""Hostile requests to every SDK endpoint through the Flask and the Django test clients: random methods, garbled
and foreign tokens, huge, deep and odd-typed JSON, too many form fields, odd content types, malformed headers,
surrogates and NULs. Never a 5xx; a refused request changes no ``sp_`` row; the audit chain still verifies.

Exceptions are not turned into 500 pages here (Flask ``testing``, Django's ``raise_request_exception``): a crash
fails the test with its traceback. Both shops use one database per module (``-m db`` runs them on PostgreSQL).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import settings as hsettings

from shopprivacy import Keyset
from shopprivacy.testing import fresh_database_url

from .hostile import FAMILIES, STOREFRONT, Endpoint, Hostile, Shop, check, requests, seed

flask = pytest.importorskip("flask")
django = pytest.importorskip("django")

pytestmark = pytest.mark.db
#: Examples per endpoint and family of hostile change (2 frameworks x 25 endpoints x 60 requests in all).
EXAMPLES = {"method": 8, "token": 10, "headers": 14, "body": 14, "mixed": 14}
#: The SDK's endpoints: (route name, method). Every one of them is driven through both frameworks.
ENDPOINTS = [("consent.record", "POST"), ("consent.record", "OPTIONS"), ("consent.config", "GET"),
             ("consent.config", "OPTIONS"), ("consent.js", "GET"), ("consent.css", "GET"), ("consent.gpc", "GET"),
             ("email.unsubscribe", "GET"), ("email.unsubscribe", "POST"), ("email.confirm", "GET"),
             ("email.confirm", "POST"), ("email.preferences", "GET"), ("email.preferences", "POST"),
             ("rights.portal", "GET"), ("rights.portal", "POST"), ("rights.verify", "GET"),
             ("rights.verify", "POST"), ("rights.download", "GET"), ("rights.download", "POST"),
             ("rights.verify_new", "GET"), ("rights.verify_new", "POST"), ("declaration.notice", "GET"),
             ("declaration.cookies", "GET"), ("rights.cancel", "GET"), ("rights.cancel", "POST")]
CASES = [(name, method, family) for name, method in ENDPOINTS for family in FAMILIES]


def _endpoint(shop: Shop, name: str, method: str) -> Endpoint:
    [found] = [e for e in shop.endpoints() if (e.name, e.method) == (name, method)]
    return found


def test_every_sdk_endpoint_is_driven(flask_shop: tuple[Shop, object]) -> None:
    shop, _ = flask_shop
    assert sorted((e.name, e.method) for e in shop.endpoints()) == sorted(ENDPOINTS)


# -- Flask --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flask_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shop, flask.Flask]]:
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    with fresh_database_url(tmp_path_factory.mktemp("flask-hostile")) as url:
        app = flask.Flask(__name__)
        app.testing = True  # a crash propagates instead of becoming a 500 page
        app.config.update(SHOPPRIVACY_DATABASE_URL=url, SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
                          SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
                          SHOPPRIVACY_CONSENT={"allowed_origins": [STOREFRONT]})
        ShopPrivacyFlask(app)
        sp = ShopPrivacyFlask.sp(app)
        sp.store.upgrade()
        yield seed(sp, "http://localhost"), app
        sp.close()


def _flask_send(app: flask.Flask):  # type: ignore[no-untyped-def]
    def send(req: Hostile) -> tuple[int, dict[str, str]]:
        # a real server never hands over CR or LF in a header value; werkzeug's test client refuses them
        hdrs = {k: v.replace("\r", "").replace("\n", "") for k, v in req.headers.items()}
        resp = app.test_client(use_cookies=False).open(req.path, method=req.method, query_string=req.query_string,
                                                        headers=hdrs, data=req.body)
        return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}

    return send


@pytest.mark.parametrize(("name", "method", "family"), CASES)
def test_flask_endpoints_survive_hostile_requests(flask_shop, name: str, method: str, family: str) -> None:
    shop, app = flask_shop
    endpoint, send = _endpoint(shop, name, method), _flask_send(app)

    @hsettings(max_examples=EXAMPLES[family], database=None)  # one inner function serves every case
    @given(req=requests(shop, endpoint, family))
    def run(req: Hostile) -> None:
        check(shop, send, req)

    run()
    shop.sp.audit.verify()


# -- Django -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def django_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    from django.conf import settings
    from django.test import override_settings
    from django.urls import include, path

    from shopprivacy.integrations.django import get_sp

    from .django_project import configure

    folder = tmp_path_factory.mktemp("django-hostile")
    configure(folder)
    urls = types.ModuleType("sp_hostile_urls")
    urls.urlpatterns = [path("", include("shopprivacy.integrations.django.urls"))]  # type: ignore[attr-defined]
    sys.modules[urls.__name__] = urls
    with fresh_database_url(folder) as url:
        config = {**settings.SHOPPRIVACY, "database_url": url, "public_base_url": "http://testserver",
                  "consent": {"allowed_origins": [STOREFRONT]}}
        with override_settings(SHOPPRIVACY=config, ROOT_URLCONF=urls.__name__):
            get_sp.cache_clear()
            sp = get_sp()
            sp.store.upgrade()
            try:
                yield seed(sp, "http://testserver")
            finally:
                sp.close()
                get_sp.cache_clear()


def _django_send(req: Hostile) -> tuple[int, dict[str, str]]:
    from django.test import Client

    # a WSGI server hands header bytes over decoded as latin-1: the wire form of the generated text
    wire = {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in req.headers.items()}
    ctype = wire.get("Content-Type", "")
    hdrs = {k: v for k, v in wire.items() if k != "Content-Type"}
    extra = {"CONTENT_TYPE": ctype} if "Content-Type" in wire else {}
    resp = Client().generic(req.method, req.path, data=req.body, content_type=ctype, headers=hdrs,
                            QUERY_STRING=req.query_string, **extra)
    return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}


@pytest.mark.parametrize(("name", "method", "family"), CASES)
def test_django_endpoints_survive_hostile_requests(django_shop: Shop, name: str, method: str, family: str) -> None:
    endpoint = _endpoint(django_shop, name, method)

    @hsettings(max_examples=EXAMPLES[family], database=None)  # one inner function serves every case
    @given(req=requests(django_shop, endpoint, family))
    def run(req: Hostile) -> None:
        check(django_shop, _django_send, req)

    run()
    django_shop.sp.audit.verify()
