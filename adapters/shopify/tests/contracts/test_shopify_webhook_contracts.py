"""The webhook endpoint against Shopify's own Node library, ``@shopify/shopify-api``: deliveries signed by its
helper, and both libraries' verdicts on valid and forged deliveries compared (one node run per batch)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from shopify_npm import npm_root, run_node_signer

NPM = npm_root()  # skips this module when Shopify's npm files are not there (outside `tox -e contracts`)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from shopify_fakes import SECRET, SHOP  # noqa: E402
from shopify_schema import load_admin_schema  # noqa: E402
from shopprivacy_shopify.options import SUPPORTED_API_VERSIONS  # noqa: E402
from shopprivacy_shopify.webhooks import IGNORED_ACTION  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from shopprivacy import ShopPrivacy  # noqa: E402
from shopprivacy.store.schema import outbox  # noqa: E402
from shopprivacy.web.http import Request  # noqa: E402
from shopprivacy.web.routes import Route  # noqa: E402
from shopprivacy.web.webhooks import sign_base64  # noqa: E402

COMPLIANCE = ["customers/data_request", "customers/redact", "shop/redact"]
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def headers(topic: str, webhook_id: str, event_id: str | None) -> dict[str, str]:
    out = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
           "X-Shopify-API-Version": "2026-10", "X-Shopify-Webhook-Id": webhook_id,
           "X-Shopify-Triggered-At": "2026-11-24T12:00:00Z"}
    if event_id is not None:
        out["X-Shopify-Event-Id"] = event_id
    return out


def endpoint(sp: ShopPrivacy) -> Route:
    (route,) = [r for r in sp.web_routes() if r.name == "shopify_webhooks"]
    return route


def post(route: Route, case: dict[str, Any], signature: str | None) -> int:
    """Our endpoint's answer to the delivery node built (same body bytes, headers and signature)."""
    sent = dict(case["headers"])
    if signature is not None:
        sent["X-Shopify-Hmac-Sha256"] = signature
    return route.handler(Request(method="POST", path="/privacy/webhooks/shopify", headers=sent,
                                 body=case["body"].encode("utf-8"))).status


def storage_topic(topic: str) -> str:
    """How @shopify/shopify-api names a topic (``topicForStorage``)."""
    return topic.upper().replace("/", "_").replace(".", "_")


def count(sp: ShopPrivacy) -> int:
    with sp.store.begin(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_every_published_topic_signed_by_shopify_is_acknowledged(sp: ShopPrivacy) -> None:
    topics = sorted({t for v in SUPPORTED_API_VERSIONS for t in load_admin_schema(v).webhook_topics()})
    newest = load_admin_schema(SUPPORTED_API_VERSIONS[-1]).webhook_topics()
    assert len(newest) == 218 and sorted(t for t in newest if "." in t) == [
        "customer.joined_segment", "customer.left_segment", "customer.tags_added", "customer.tags_removed"]
    cases = [{"body": json.dumps({"id": 820982911946154508, "topic": t}),
              "headers": headers(t, f"wh-{i}", f"evt-{i}")} for i, t in enumerate(topics)]
    results, route = run_node_signer(NPM, SECRET, cases), endpoint(sp)
    for case, got in zip(cases, results, strict=True):
        topic = case["headers"]["X-Shopify-Topic"]
        assert got["result"]["valid"] is True and got["result"]["topic"] == storage_topic(topic)
        assert post(route, case, got["signature"]) == 200, topic
    assert count(sp) == 0 and sp.audit.entries(action=IGNORED_ACTION) == []


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                        max_leaves=10)
_CUSTOMER = st.fixed_dictionaries({"id": st.integers(1, 10**15), "email": st.none() | st.emails(),
                                   "phone": st.none() | st.from_regex(r"\+?[0-9 -]{6,15}", fullmatch=True)})
_ORDERS = st.lists(st.integers(1, 10**15), max_size=4)
_BODIES = st.one_of(
    st.fixed_dictionaries({"shop_id": st.integers(1, 10**9), "shop_domain": st.just(SHOP), "customer": _CUSTOMER,
                           "orders_requested": _ORDERS, "data_request": st.fixed_dictionaries(
                               {"id": st.integers(1, 10**9)})}),
    st.fixed_dictionaries({"shop_id": st.integers(1, 10**9), "shop_domain": st.just(SHOP), "customer": _CUSTOMER,
                           "orders_to_redact": _ORDERS}),
    st.fixed_dictionaries({"shop_id": st.integers(1, 10**9), "shop_domain": st.just(SHOP)}),
    _JSONISH)
_FORGERIES = st.sampled_from(["none", "none", "none", "wrong secret", "body changed after signing", "truncated",
                              "non-canonical base64", "no signature", "empty body"])
_IDS = st.from_regex(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}", fullmatch=True)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A delivery for node to sign (or to forge), and which forgery it carries ("none" when it is genuine)."""
    topic = draw(st.sampled_from([*COMPLIANCE, "customer.tags_added", "orders/create", "app/uninstalled"]))
    body = json.dumps(draw(_BODIES), ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    case: dict[str, Any] = {"body": body, "headers": headers(topic, draw(_IDS), draw(st.none() | _IDS))}
    forgery = draw(_FORGERIES)
    genuine = sign_base64(SECRET.encode(), body.encode())
    if forgery == "wrong secret":
        case["signing_secret"] = "shpss_not-the-apps-secret"
    elif forgery == "body changed after signing":
        case["signed_body"], case["body"] = body, body + "\n"
    elif forgery == "truncated":
        case["signature"] = genuine[:-4]
    elif forgery == "non-canonical base64":  # the same 32 bytes, other unused bits in the last character
        case["signature"] = genuine[:-2] + _B64[_B64.index(genuine[-2]) | 1] + "="
    elif forgery == "no signature":
        case["signature"] = None
    elif forgery == "empty body":
        case["body"] = ""
    return case, forgery


@settings(max_examples=6)
@given(batch=st.lists(deliveries(), min_size=15, max_size=30))
def test_both_libraries_agree_on_valid_and_forged_deliveries(sp: ShopPrivacy,
                                                             batch: list[tuple[dict[str, Any], str]]) -> None:
    cases = [case for case, _ in batch]
    results, route = run_node_signer(NPM, SECRET, cases), endpoint(sp)
    for (case, forgery), got in zip(batch, results, strict=True):
        verdict = got["result"]
        status = post(route, case, got["signature"])
        assert verdict["valid"] is (forgery == "none"), (forgery, verdict)
        assert (status != 401) is verdict["valid"], (forgery, status, verdict)
        if verdict["valid"]:
            sent = case["headers"]
            assert status == 200  # every authentic delivery is acknowledged
            assert verdict["topic"] == storage_topic(sent["X-Shopify-Topic"])
            assert verdict["webhookId"] == sent["X-Shopify-Webhook-Id"]
            assert verdict.get("eventId") == sent.get("X-Shopify-Event-Id")
            assert base64.b64decode(got["signature"]) == base64.b64decode(sign_base64(SECRET.encode(),
                                                                                      case["body"].encode()))


@pytest.mark.parametrize("topic", COMPLIANCE)
def test_a_compliance_body_signed_by_shopify_under_another_topic_does_no_work(sp: ShopPrivacy, topic: str) -> None:
    bodies = {"customers/data_request": {"shop_id": 1, "shop_domain": SHOP, "orders_requested": [],
                                         "customer": {"id": 5, "email": None, "phone": None},
                                         "data_request": {"id": 9}},
              "customers/redact": {"shop_id": 1, "shop_domain": SHOP, "orders_to_redact": [],
                                   "customer": {"id": 5, "email": None, "phone": None}},
              "shop/redact": {"shop_id": 1, "shop_domain": SHOP}}
    cases = [{"body": json.dumps(body), "headers": headers(topic, f"wh-{i}", f"evt-{i}")}
             for i, (origin, body) in enumerate(bodies.items()) if origin != topic]
    route = endpoint(sp)
    for case, got in zip(cases, run_node_signer(NPM, SECRET, cases), strict=True):
        assert got["result"]["valid"] is True  # Shopify's library: authentic (the topic is not signed)
        assert post(route, case, got["signature"]) == 200
    assert count(sp) == 0
    assert [e.meta["reason"] for e in sp.audit.entries(action=IGNORED_ACTION)] == ["body not of its topic"] * 2
