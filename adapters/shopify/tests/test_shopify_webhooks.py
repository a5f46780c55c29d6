"""Webhooks: signatures over the raw body, shop checks, dedupe, compliance work through the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopify_fakes import SECRET, SHOP
from sqlalchemy import func, select, text

from shopprivacy import ShopPrivacy
from shopprivacy.store.schema import inbox, outbox
from shopprivacy.web.http import Request
from shopprivacy.web.routes import Route
from shopprivacy.web.webhooks import sign_base64

DATA_REQUEST = {"shop_id": 954889, "shop_domain": SHOP, "orders_requested": [299938, 280263],
                "customer": {"id": 191167, "email": "john@example.com", "phone": "+15556251199"},
                "data_request": {"id": 9999}}
REDACT = {"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 191167, "email": "john@example.com",
                                                               "phone": "555-625-1199"},
          "orders_to_redact": [299938, 280263]}
SHOP_REDACT = {"shop_id": 954889, "shop_domain": SHOP}


def raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def delivery(topic: str, body: bytes, *, webhook_id: str = "b54557e4-8a5f-4bf7-9d70-bcd043aa0001",
             signature: str | None = "sign", shop: str = SHOP, method: str = "POST") -> Request:
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
               "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-API-Version": "2026-10",
               "X-Shopify-Triggered-At": "2026-11-24T12:00:00Z"}
    if signature == "sign":
        signature = sign_base64(SECRET.encode(), body)
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    return Request(method=method, path="/privacy/webhooks/shopify", headers=headers, body=body)


def endpoint(sp: ShopPrivacy) -> Route:
    (route,) = [r for r in sp.web_routes() if r.name == "shopify_webhooks"]
    assert route.csrf_exempt and route.methods == ("POST",)
    assert route.full_path("/privacy") == "/privacy/webhooks/shopify"
    return route


def outbox_rows(sp: ShopPrivacy) -> list[Any]:
    with sp.store.begin(write=False) as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)).all())


def test_data_request_is_verified_stored_sealed_and_opens_an_export_once(sp: ShopPrivacy) -> None:
    route = endpoint(sp)
    body = raw(DATA_REQUEST)
    first = route.handler(delivery("customers/data_request", body))
    again = route.handler(delivery("customers/data_request", body))
    assert (first.status, again.status) == (200, 200)
    assert json.loads(again.body) == {"ok": True, "duplicate": True}
    (row,) = outbox_rows(sp)
    assert row.topic == "shopify.customers_data_request"
    stored = json.dumps(row.payload)
    assert "john@example.com" not in stored and "5556251199" not in stored and "john" not in stored
    assert row.payload["customer_id"] == "gid://shopify/Customer/191167"

    report = sp.outbox.deliver_due()
    assert report.delivered >= 1 and report.dead == 0, report.errors
    (request,) = [r for r in sp.rights.find() if r.external_id]
    assert (request.kind, request.channel, request.verified_by, request.verified) == (
        "export", "shopify", "shopify", True)
    assert request.external_id == "shopify:b54557e4-8a5f-4bf7-9d70-bcd043aa0001"
    # a later redelivery (after the work was done) opens nothing new
    assert route.handler(delivery("customers/data_request", body)).status == 200
    sp.outbox.deliver_due()
    assert len([r for r in sp.rights.find() if r.external_id]) == 1


def test_customers_redact_opens_an_erasure(sp: ShopPrivacy) -> None:
    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), webhook_id="w-redact-1")).status == 200
    report = sp.outbox.deliver_due()
    assert report.dead == 0, report.errors
    (request,) = [r for r in sp.rights.find() if r.external_id == "shopify:w-redact-1"]
    assert request.kind == "erase" and request.verified


def test_customers_redact_passes_the_orders_to_redact(sp: ShopPrivacy) -> None:
    from shopprivacy.rights import records

    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), webhook_id="w-redact-2")).status == 200
    assert sp.outbox.deliver_due().dead == 0
    (request,) = [r for r in sp.rights.find() if r.external_id == "shopify:w-redact-2"]
    assert request.forwarded_by == "shopify"
    with sp.store.begin(write=False) as conn:
        subject = records.subject_of(sp, conn, records.load(conn, request.id))
    assert subject.order_ids == ("gid://shopify/Order/299938", "gid://shopify/Order/280263")
    assert subject.customer_id == "gid://shopify/Customer/191167"


def test_shop_redact_removes_everything_and_forgets_the_shop(sp: ShopPrivacy) -> None:
    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), webhook_id="w-1")).status == 200
    assert route.handler(delivery("shop/redact", raw(SHOP_REDACT), webhook_id="w-2")).status == 200
    report = sp.outbox.deliver_due()
    assert report.dead == 0, report.errors
    assert [r.topic for r in outbox_rows(sp) if r.topic.startswith("shopify.")] == [
        "shopify.customers_redact", "shopify.shop_redact"]
    assert all(r.status == "done" for r in outbox_rows(sp) if r.topic.startswith("shopify."))
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 0
    # idempotent by external id: the same redaction again changes nothing and raises nothing
    sp.rights.redact_shop(external_id="shopify:w-2")


@pytest.mark.parametrize("signature", [None, "", "not base64!", sign_base64(b"another-secret", raw(DATA_REQUEST)),
                                       sign_base64(SECRET.encode(), raw(DATA_REQUEST))[:-4] + "AAA="])
def test_bad_or_missing_signature_is_401(sp: ShopPrivacy, signature: str | None) -> None:
    response = endpoint(sp).handler(delivery("customers/data_request", raw(DATA_REQUEST), signature=signature))
    assert response.status == 401
    assert outbox_rows(sp) == []


def test_reserialised_body_does_not_verify(sp: ShopPrivacy) -> None:
    body = raw(DATA_REQUEST)
    signature = sign_base64(SECRET.encode(), body)
    for reserialised in (json.dumps(json.loads(body)).encode(), json.dumps(json.loads(body), indent=1).encode(),
                         json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()):
        assert reserialised != body
        response = endpoint(sp).handler(delivery("customers/data_request", reserialised, signature=signature))
        assert response.status == 401
    assert outbox_rows(sp) == []


@pytest.mark.parametrize(("req", "status"), [
    (lambda: delivery("customers/data_request", raw(DATA_REQUEST), shop="other.myshopify.com"), 404),
    (lambda: delivery("orders/create", raw({"id": 1})), 200),
    (lambda: delivery("customers/data_request", b"{not json"), 400),
    (lambda: delivery("customers/data_request", raw([1, 2])), 400),  # type: ignore[arg-type]
    (lambda: delivery("customers/data_request", raw({**DATA_REQUEST, "shop_domain": "other.myshopify.com"})), 400),
    (lambda: delivery("customers/redact", raw({**REDACT, "customer": {"id": "x"}})), 400),
    (lambda: delivery("customers/redact", raw(REDACT), webhook_id=""), 400),
    (lambda: delivery("customers/redact", raw(REDACT), webhook_id="x" * 300), 400),
    (lambda: delivery("customers/redact", raw(REDACT), method="GET"), 405),
    (lambda: delivery("customers/redact", b" " * (600 * 1024)), 413),
])
def test_other_answers(sp: ShopPrivacy, req: Any, status: int) -> None:
    assert endpoint(sp).handler(req()).status == status
    assert outbox_rows(sp) == []


def test_store_down_answers_503_so_shopify_retries(sp: ShopPrivacy) -> None:
    with sp.store.begin() as conn:
        conn.execute(text("DROP TABLE sp_inbox"))
    response = endpoint(sp).handler(delivery("customers/redact", raw(REDACT)))
    assert response.status == 503 and response.headers["Retry-After"] == "30"


_TOPICS = st.sampled_from(["customers/data_request", "customers/redact", "shop/redact", "orders/create", "",
                           "x" * 200, "customers/data_request\n"])
_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=15), c, max_size=4),
                        max_leaves=15)


@given(topic=_TOPICS, webhook_id=st.text(max_size=250), shop=st.sampled_from([SHOP, SHOP.upper(), "", "évil"]),
       body=st.one_of(st.binary(max_size=300), _JSONISH.map(lambda v: json.dumps(v).encode()),
                      st.builds(lambda c: raw({**REDACT, "customer": c}), _JSONISH)),
       sign=st.booleans(), extra=st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=3))
def test_never_a_server_error(sp: ShopPrivacy, topic: str, webhook_id: str, shop: str, body: bytes, sign: bool,
                              extra: dict[str, str]) -> None:
    req = delivery(topic, body, webhook_id=webhook_id, shop=shop, signature="sign" if sign else "bogus")
    req = Request(method="POST", path=req.path, headers={**extra, **req.headers}, body=body)
    response = endpoint(sp).handler(req)
    assert response.status in (200, 400, 401, 404, 413)
    if not sign:
        assert response.status == 401
