"""Webhooks: signatures over the raw body, shop checks, dedupe, compliance work through the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopify_fakes import SECRET, SHOP
from shopprivacy_shopify.webhooks import IGNORED_ACTION
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


EVENT = "7c1e2f3a-44d5-4b6c-8d7e-9f0a1b2c3d01"


def delivery(topic: str, body: bytes, *, webhook_id: str = "b54557e4-8a5f-4bf7-9d70-bcd043aa0001",
             event_id: str | None = EVENT, signature: str | None = "sign", shop: str = SHOP,
             method: str = "POST") -> Request:
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
               "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-API-Version": "2026-10",
               "X-Shopify-Triggered-At": "2026-11-24T12:00:00Z"}
    if event_id is not None:
        headers["X-Shopify-Event-Id"] = event_id
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
    assert request.external_id == f"shopify:{EVENT}"
    # a later redelivery (after the work was done) opens nothing new
    assert route.handler(delivery("customers/data_request", body)).status == 200
    sp.outbox.deliver_due()
    assert len([r for r in sp.rights.find() if r.external_id]) == 1


def test_customers_redact_opens_an_erasure(sp: ShopPrivacy) -> None:
    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), event_id="w-redact-1")).status == 200
    report = sp.outbox.deliver_due()
    assert report.dead == 0, report.errors
    (request,) = [r for r in sp.rights.find() if r.external_id == "shopify:w-redact-1"]
    assert request.kind == "erase" and request.verified


def test_customers_redact_passes_the_orders_to_redact(sp: ShopPrivacy) -> None:
    from shopprivacy.rights import records

    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), event_id=None,
                                  webhook_id="w-redact-2")).status == 200  # no event id: the webhook id
    assert sp.outbox.deliver_due().dead == 0
    (request,) = [r for r in sp.rights.find() if r.external_id == "shopify:w-redact-2"]
    assert request.forwarded_by == "shopify"
    with sp.store.begin(write=False) as conn:
        subject = records.subject_of(sp.fields, conn, records.load(conn, request.id))
    assert subject.order_ids == ("gid://shopify/Order/299938", "gid://shopify/Order/280263")
    assert subject.customer_id == "gid://shopify/Customer/191167"


def test_shop_redact_removes_everything_and_forgets_the_shop(sp: ShopPrivacy) -> None:
    route = endpoint(sp)
    assert route.handler(delivery("customers/redact", raw(REDACT), event_id="w-1")).status == 200
    assert route.handler(delivery("shop/redact", raw(SHOP_REDACT), event_id="w-2")).status == 200
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


def ignored(sp: ShopPrivacy) -> list[dict[str, Any]]:
    return [dict(e.meta) for e in sp.audit.entries(action=IGNORED_ACTION)]


@pytest.mark.parametrize(("req", "status"), [
    (lambda: delivery("customers/data_request", raw(DATA_REQUEST), shop="other.myshopify.com"), 404),
    (lambda: delivery("orders/create", raw({"id": 1})), 200),
    (lambda: delivery("customers/redact", raw(REDACT), method="GET"), 405),
    (lambda: delivery("customers/redact", b" " * (600 * 1024)), 413),
    (lambda: delivery("customers/redact", b""), 401),  # Shopify's library refuses an empty body too
])
def test_other_answers(sp: ShopPrivacy, req: Any, status: int) -> None:
    assert endpoint(sp).handler(req()).status == status
    assert outbox_rows(sp) == [] and ignored(sp) == []


@pytest.mark.parametrize(("req", "reason"), [
    (lambda: delivery("customers/data_request", b"{not json"), "body not of its topic"),
    (lambda: delivery("customers/data_request", raw([1, 2])), "body not of its topic"),  # type: ignore[arg-type]
    (lambda: delivery("customers/data_request", raw({**DATA_REQUEST, "shop_domain": "other.myshopify.com"})),
     "body names another shop"),
    (lambda: delivery("customers/redact", raw({**REDACT, "customer": {"id": "x"}})), "body not of its topic"),
    (lambda: delivery("customers/redact", raw(REDACT), webhook_id="", event_id=None), "no delivery id"),
    (lambda: delivery("customers/redact", raw(REDACT), webhook_id="x" * 300, event_id="\n"), "no delivery id"),
])
def test_authentic_compliance_delivery_that_cannot_be_acted_on_is_acknowledged_and_recorded(
        sp: ShopPrivacy, req: Any, reason: str) -> None:
    response = endpoint(sp).handler(req())
    assert response.status == 200  # Shopify would retry anything else, then drop the subscription
    assert outbox_rows(sp) == []
    (entry,) = ignored(sp)
    assert entry["reason"] == reason and entry["topic"] in ("customers/data_request", "customers/redact")


DOTTED_TOPICS = ["customer.joined_segment", "customer.left_segment", "customer.tags_added", "customer.tags_removed"]


@pytest.mark.parametrize("topic", [*DOTTED_TOPICS, "orders/create", "app/uninstalled",
                                   "app_subscriptions/approaching_capped_amount", "bulk_operations/finish"])
def test_every_authentic_topic_is_acknowledged_and_unknown_ones_do_no_work(sp: ShopPrivacy, topic: str) -> None:
    body = raw({"id": 191167, "tags": ["vip"]})
    response = endpoint(sp).handler(delivery(topic, body))
    assert response.status == 200
    assert outbox_rows(sp) == [] and ignored(sp) == []
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 0
    # the signature still decides: the same topic unsigned is refused
    assert endpoint(sp).handler(delivery(topic, body, signature=None)).status == 401


MISMATCHED = [("customers/redact", DATA_REQUEST), ("customers/data_request", REDACT),
              ("shop/redact", REDACT), ("shop/redact", DATA_REQUEST),
              ("customers/redact", SHOP_REDACT), ("customers/data_request", SHOP_REDACT)]


@pytest.mark.parametrize(("topic", "body"), MISMATCHED)
def test_a_body_under_another_compliance_topic_does_no_work(sp: ShopPrivacy, topic: str,
                                                            body: dict[str, Any]) -> None:
    """The signature covers the body, not the topic header: a data request re-sent as customers/redact must not
    erase anybody, and a customer request re-sent as shop/redact must not remove the shop's data."""
    route = endpoint(sp)
    assert route.handler(delivery(topic, raw(body), signature=None)).status == 401  # unsigned: refused
    assert route.handler(delivery(topic, raw(body))).status == 200  # signed: acknowledged...
    assert outbox_rows(sp) == []  # ...without work
    assert ignored(sp) == [{"topic": topic, "reason": "body not of its topic", "delivery": EVENT}]
    sp.outbox.deliver_due()
    assert [r for r in sp.rights.find() if r.external_id] == []


def test_duplicates_are_detected_by_event_id(sp: ShopPrivacy) -> None:
    """Shopify's key for duplicates is X-Shopify-Event-Id: one event delivered through two subscriptions comes
    with two webhook ids."""
    route = endpoint(sp)
    first = route.handler(delivery("customers/redact", raw(REDACT), webhook_id="wh-a", event_id="evt-1"))
    twin = route.handler(delivery("customers/redact", raw(REDACT), webhook_id="wh-b", event_id="evt-1"))
    other = route.handler(delivery("customers/redact", raw(REDACT), webhook_id="wh-c", event_id="evt-2"))
    assert [json.loads(r.body)["duplicate"] for r in (first, twin, other)] == [False, True, False]
    assert [row.idempotency_key for row in outbox_rows(sp)] == ["shopify:evt-1", "shopify:evt-2"]
    report = sp.outbox.deliver_due()
    assert (report.delivered, report.dead) == (2, 0)


def test_work_queued_before_event_ids_still_runs(sp: ShopPrivacy) -> None:
    """An outbox row written by the previous version carries the webhook id only (sealed with it)."""
    endpoint(sp)  # attaches the outbox handlers
    with sp.store.begin() as conn:
        sp.outbox.enqueue(conn, "shopify.customers_redact", {
            "webhook_id": "old-1", "shop": SHOP, "customer_id": "gid://shopify/Customer/191167",
            "email": sp.fields.encrypt("john@example.com", context="shopify.webhook.identity", row="old-1"),
            "phone": None, "orders": []}, idempotency_key="shopify:old-1")
    assert sp.outbox.deliver_due().dead == 0
    (request,) = [r for r in sp.rights.find() if r.external_id]
    assert request.external_id == "shopify:old-1" and request.kind == "erase"


def test_store_down_answers_503_so_shopify_retries(sp: ShopPrivacy) -> None:
    with sp.store.begin() as conn:
        conn.execute(text("DROP TABLE sp_inbox"))
    response = endpoint(sp).handler(delivery("customers/redact", raw(REDACT)))
    assert response.status == 503 and response.headers["Retry-After"] == "30"


_TOPICS = st.sampled_from(["customers/data_request", "customers/redact", "shop/redact", "orders/create",
                           "customer.tags_added", "", "x" * 200, "customers/data_request\n"])
_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=15), c, max_size=4),
                        max_leaves=15)


@given(topic=_TOPICS, webhook_id=st.text(max_size=250), event_id=st.none() | st.text(max_size=130),
       shop=st.sampled_from([SHOP, SHOP.upper(), "", "évil"]),
       body=st.one_of(st.binary(min_size=1, max_size=300), _JSONISH.map(lambda v: json.dumps(v).encode()),
                      st.builds(lambda c: raw({**REDACT, "customer": c}), _JSONISH)),
       sign=st.booleans(), extra=st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=3))
def test_never_a_server_error_and_every_signed_delivery_for_the_shop_is_acknowledged(
        sp: ShopPrivacy, topic: str, webhook_id: str, event_id: str | None, shop: str, body: bytes, sign: bool,
        extra: dict[str, str]) -> None:
    req = delivery(topic, body, webhook_id=webhook_id, event_id=event_id, shop=shop,
                   signature="sign" if sign else "bogus")
    req = Request(method="POST", path=req.path, headers={**extra, **req.headers}, body=body)
    response = endpoint(sp).handler(req)
    if not sign:
        assert response.status == 401
    else:
        assert response.status == (200 if shop.lower() == SHOP else 404)
