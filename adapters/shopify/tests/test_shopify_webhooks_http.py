"""The webhook endpoint through the Flask and the Django test clients: hostile deliveries (another method, garbled
or dropped headers, odd, deep, huge or re-signed bodies) never get a 5xx, and a refused one writes no row."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shopify_fakes import OPTIONS, SECRET, SHOP

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.testing import fresh_database_url, row_counts
from shopprivacy.web.webhooks import sign_base64

flask = pytest.importorskip("flask")
django = pytest.importorskip("django")

pytestmark = pytest.mark.db
PATH = "/privacy/webhooks/shopify"
BODIES = {"customers/data_request": {"shop_id": 954889, "shop_domain": SHOP, "orders_requested": [299938],
                                     "customer": {"id": 191167, "email": "john@example.com", "phone": "+15556251199"}},
          "customers/redact": {"shop_id": 954889, "shop_domain": SHOP, "orders_to_redact": [299938],
                               "customer": {"id": 191167, "email": "john@example.com"}},
          "shop/redact": {"shop_id": 954889, "shop_domain": SHOP}}


@dataclass(frozen=True)
class Delivery:
    method: str
    topic: str
    headers: dict[str, str]
    body: bytes
    sign: bool = True  # sign the final body (else keep the signature of the original one)

    def wire_headers(self) -> dict[str, str]:
        signature = sign_base64(SECRET.encode(), self.body) if self.sign else self.headers.get("X-Shopify-Hmac-Sha256")
        out = {**self.headers, "X-Shopify-Hmac-Sha256": signature or ""}
        # what a WSGI server passes on: the bytes of the header, decoded as latin-1
        return {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in out.items() if v is not None}


def _signed(topic: str, n: int) -> Delivery:
    body = json.dumps(BODIES[topic]).encode()
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
               "X-Shopify-Webhook-Id": f"w-{n}", "X-Shopify-Hmac-Sha256": sign_base64(SECRET.encode(), body)}
    return Delivery("POST", topic, headers, body)


TEXT = st.one_of(st.text(st.characters(exclude_categories=()), max_size=30),
                 st.sampled_from(["", "\x00", "\ud800", "x" * 300, "customers/redact\n", SHOP.upper()]))
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=10)
Change = Callable[[Delivery], Delivery]


def _field(path: tuple[str, ...], value: Any) -> Change:
    def change(d: Delivery) -> Delivery:
        try:  # an earlier change may have left a body that is no JSON object (e.g. b"{")
            data = json.loads(d.body)
        except (ValueError, RecursionError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        target = data
        for key in path[:-1]:
            target = target.setdefault(key, {}) if isinstance(target.get(key, {}), dict) else {}
        target[path[-1]] = value
        return replace(d, body=json.dumps(data).encode("utf-8", "surrogatepass"))
    return change


CHANGES: st.SearchStrategy[Change] = st.one_of(
    st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]).map(lambda m: lambda d: replace(d, method=m)),
    st.builds(lambda name, value: lambda d: replace(d, headers={**d.headers, name: value}),
              st.sampled_from(["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                               "X-Shopify-Hmac-Sha256", "Content-Type", "User-Agent"]), TEXT),
    st.booleans().map(lambda sign: lambda d: replace(d, sign=sign)),
    st.builds(_field, st.sampled_from([("shop_id",), ("shop_domain",), ("customer", "id"), ("customer", "email"),
                                       ("customer", "phone"), ("orders_requested",), ("orders_to_redact",)]),
              JSON_VALUES),
    st.integers(20, 3000).map(lambda n: lambda d: replace(d, body=b"[" * n + b"]" * n)),
    st.sampled_from([b"{", b"NaN", b'{"shop_domain": "\\ud800"}', b"\xff\xfe", b" " * (600 * 1024)]).map(
        lambda body: lambda d: replace(d, body=body)),
)


def deliveries() -> st.SearchStrategy[Delivery]:
    def build(topic: str, n: int, changes: list[Change]) -> Delivery:
        d = _signed(topic, n)
        for change in changes:
            d = change(d)
        return d

    return st.builds(build, st.sampled_from(sorted(BODIES)), st.integers(0, 10**6), st.lists(CHANGES, max_size=3))


Send = Callable[[Delivery], int]


def _check(sp: ShopPrivacy, send: Send, d: Delivery) -> None:
    before = row_counts(sp.store)
    status = send(d)
    assert status < 500, status
    if status >= 400 or d.method != "POST":
        assert row_counts(sp.store) == before, status


def _settings(url: str) -> dict[str, Any]:
    return {"database_url": url, "keyset": Keyset.generate().to_json(), "public_base_url": "http://testserver",
            "platform": "shopify", "platform_options": OPTIONS}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shopify-http")


def test_through_flask(folder: Path) -> None:
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    with fresh_database_url(folder) as url:
        sp = ShopPrivacy(Settings(**_settings(url)))
        sp.store.upgrade()
        app = flask.Flask(__name__)
        app.testing = True  # a crash fails the test instead of becoming a 500 page
        ShopPrivacyFlask(app, sp=sp)

        def send(d: Delivery) -> int:
            # werkzeug's test client refuses CR and LF in a header value, as real servers do before any app
            hdrs = {k: v.replace("\r", "").replace("\n", "") for k, v in d.wire_headers().items()}
            return app.test_client().open(PATH, method=d.method, headers=hdrs, data=d.body).status_code

        assert send(_signed("customers/redact", 0)) == 200  # a genuine delivery is accepted

        @hsettings(max_examples=60, database=None)
        @given(d=deliveries())
        def run(d: Delivery) -> None:
            _check(sp, send, d)

        run()
        sp.audit.verify()
        sp.close()


@pytest.fixture(scope="module")
def django_urls() -> types.ModuleType:
    """An empty URLconf (Django configured with nothing else unless another module did it first)."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY="test-only", ALLOWED_HOSTS=["testserver"], ROOT_URLCONF="shopify_http_urls",
                           MIDDLEWARE=[], INSTALLED_APPS=[], SHOPPRIVACY={})
        django.setup()
    return sys.modules.setdefault("shopify_http_urls", types.ModuleType("shopify_http_urls"))


def test_through_django(folder: Path, django_urls: types.ModuleType) -> None:
    from django.test import Client, override_settings
    from django.urls import path

    from shopprivacy.integrations.django import get_sp
    from shopprivacy.integrations.django.http import view_for

    (folder / "dj").mkdir(exist_ok=True)
    with fresh_database_url(folder / "dj") as url, override_settings(SHOPPRIVACY=_settings(url),
                                                                      ROOT_URLCONF=django_urls.__name__):
        get_sp.cache_clear()
        sp = get_sp()
        try:
            sp.store.upgrade()
            # what shopprivacy.integrations.django.urls mounts, for this facade (that module keeps its first one)
            django_urls.urlpatterns = [path(r.full_path("/privacy").lstrip("/"), view_for(r))  # type: ignore[attr-defined]
                                       for r in sp.web_routes()]

            def send(d: Delivery) -> int:
                hdrs = d.wire_headers()
                ctype = hdrs.pop("Content-Type", "")
                return Client().generic(d.method, PATH, data=d.body, content_type=ctype, headers=hdrs).status_code

            assert send(_signed("customers/redact", 0)) == 200

            @hsettings(max_examples=60, database=None)
            @given(d=deliveries())
            def run(d: Delivery) -> None:
                _check(sp, send, d)

            run()
            sp.audit.verify()
        finally:
            sp.close()
            get_sp.cache_clear()
