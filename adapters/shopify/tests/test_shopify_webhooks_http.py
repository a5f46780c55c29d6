"""The webhook endpoint through the Flask and the Django test clients: hostile deliveries (another method, garbled
or dropped headers, odd, deep, huge or re-signed bodies) never get a 5xx, and a refused one writes no row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from shopify_fakes import OPTIONS, SECRET, SHOP

from shopprivacy import Keyset
from shopprivacy.integrations.testing import (
    drive_through_django,
    drive_through_flask,
    hostile_text,
    json_values,
    with_json_field,
)
from shopprivacy.web.webhooks import sign_base64

pytest.importorskip("flask")
pytest.importorskip("django")

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


TEXT = hostile_text("customers/redact\n", SHOP.upper())
Change = Callable[[Delivery], Delivery]


def _field(path: tuple[str, ...], value: Any) -> Change:
    return lambda d: replace(d, body=with_json_field(d.body, path, value))


CHANGES: st.SearchStrategy[Change] = st.one_of(
    st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]).map(lambda m: lambda d: replace(d, method=m)),
    st.builds(lambda name, value: lambda d: replace(d, headers={**d.headers, name: value}),
              st.sampled_from(["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                               "X-Shopify-Hmac-Sha256", "Content-Type", "User-Agent"]), TEXT),
    st.booleans().map(lambda sign: lambda d: replace(d, sign=sign)),
    st.builds(_field, st.sampled_from([("shop_id",), ("shop_domain",), ("customer", "id"), ("customer", "email"),
                                       ("customer", "phone"), ("orders_requested",), ("orders_to_redact",)]),
              json_values(TEXT)),
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


SETTINGS = {"keyset": Keyset.generate().to_json(), "public_base_url": "http://testserver", "platform": "shopify",
            "platform_options": OPTIONS}


def test_through_flask(tmp_path: Path) -> None:
    drive_through_flask(SETTINGS, tmp_path, PATH, deliveries(), genuine=_signed("customers/redact", 0))


def test_through_django(tmp_path: Path) -> None:
    drive_through_django(SETTINGS, tmp_path, PATH, deliveries(), genuine=_signed("customers/redact", 0))
