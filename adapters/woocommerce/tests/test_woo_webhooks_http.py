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
PATH = "/privacy/webhooks/woocommerce"
SITE, WEBHOOK_SECRET = "https://shop.example", "whsec-0123456789abcdef"
BODIES = {"customer.deleted": {"id": 101, "email": "jane@example.com", "billing": {"phone": "+33612345678"}},
          "subscription.updated": {"id": 7, "customer_id": 101, "status": "active"},
          "order.updated": {"id": 5}}
OPTIONS = {"site_url": SITE, "consumer_key": "ck_test_key_123", "consumer_secret": "cs_test_secret_456",
           "webhook_secret": WEBHOOK_SECRET}


@dataclass(frozen=True)
class Delivery:
    method: str
    headers: dict[str, str]
    body: bytes
    sign: bool = True  # sign the final body (else keep the signature of the original one)

    def wire_headers(self) -> dict[str, str]:
        signature = sign_base64(WEBHOOK_SECRET.encode(), self.body) if self.sign \
            else self.headers.get("X-WC-Webhook-Signature", "")
        out = {**self.headers, "X-WC-Webhook-Signature": signature}
        # what a WSGI server passes on: the bytes of the header, decoded as latin-1
        return {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in out.items()}


def _signed(topic: str, n: int) -> Delivery:
    body = json.dumps(BODIES[topic]).encode()
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": f"d-{n}",
               "X-WC-Webhook-Signature": sign_base64(WEBHOOK_SECRET.encode(), body)}
    return Delivery("POST", headers, body)


TEXT = hostile_text("customer.deleted\n", "CUSTOMER.DELETED")
Change = Callable[[Delivery], Delivery]


def _field(key: str, value: Any) -> Change:
    return lambda d: replace(d, body=with_json_field(d.body, (key,), value))


CHANGES: st.SearchStrategy[Change] = st.one_of(
    st.sampled_from(["GET", "PUT", "HEAD", "DELETE"]).map(lambda m: lambda d: replace(d, method=m)),
    st.builds(lambda name, value: lambda d: replace(d, headers={**d.headers, name: value}),
              st.sampled_from(["X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Signature",
                               "Content-Type", "X-WC-Webhook-Source"]), TEXT),
    st.booleans().map(lambda sign: lambda d: replace(d, sign=sign)),
    st.builds(_field, st.sampled_from(["id", "customer_id", "status"]), json_values(TEXT)),
    st.integers(20, 3000).map(lambda n: lambda d: replace(d, body=b"[" * n + b"]" * n)),
    st.sampled_from([b"{", b"NaN", b'{"id": "\\ud800"}', b"\xff\xfe", b"webhook_id=12", b" " * (3 * 1024 * 1024)]).map(
        lambda body: lambda d: replace(d, body=body)),
)


def deliveries() -> st.SearchStrategy[Delivery]:
    def build(topic: str, n: int, changes: list[Change]) -> Delivery:
        d = _signed(topic, n)
        for change in changes:
            d = change(d)
        return d

    return st.builds(build, st.sampled_from(sorted(BODIES)), st.integers(0, 10**6), st.lists(CHANGES, max_size=3))


SETTINGS = {"keyset": Keyset.generate().to_json(), "public_base_url": "http://testserver", "platform": "woocommerce",
            "platform_options": OPTIONS}


def test_through_flask(tmp_path: Path) -> None:
    drive_through_flask(SETTINGS, tmp_path, PATH, deliveries(), genuine=_signed("customer.deleted", 0))


def test_through_django(tmp_path: Path) -> None:
    drive_through_django(SETTINGS, tmp_path, PATH, deliveries(), genuine=_signed("customer.deleted", 0))
