import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shopprivacy_woocommerce.webhooks import CUSTOMER_DELETED, SUBSCRIPTION_CHANGED
from sqlalchemy import select

from shopprivacy.store.schema import outbox
from shopprivacy.web.http import Request
from shopprivacy.web.webhooks import sign_base64

SECRET = b"whsec-0123456789abcdef"
pytestmark = pytest.mark.db


def post(body: bytes, *, topic="customer.deleted", delivery="d-1", signature=None, **headers):
    hdrs = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Source": "https://shop.example/", "X-WC-Webhook-Resource": topic.split(".")[0],
            "X-WC-Webhook-Event": topic.split(".")[-1], "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Signature": sign_base64(SECRET, body) if signature is None else signature, **headers}
    return Request("POST", "/privacy/webhooks/woocommerce", headers={k: v for k, v in hdrs.items() if v != ""},
                   body=body)


@pytest.fixture
def endpoint(sp):
    (route,) = sp.adapter_routes
    assert route.csrf_exempt and route.methods == ("POST",)
    assert route.full_path("/privacy") == "/privacy/webhooks/woocommerce"
    return route.handler


def rows(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(outbox.c.topic, outbox.c.payload, outbox.c.idempotency_key)).all()


def test_signed_delivery_is_accepted_once(sp, endpoint):
    body = b'{"id":101}'
    assert endpoint(post(body)).status == 200
    again = endpoint(post(body))
    assert again.status == 200 and json.loads(again.body)["detail"] == "duplicate delivery"
    (row,) = rows(sp)
    assert row.topic == CUSTOMER_DELETED and row.payload == {"customer_id": "101"}


@pytest.mark.parametrize("signature", ["AAAA", "not base64!", sign_base64(b"other-secret", b'{"id":101}')])
def test_wrong_signature_is_401(sp, endpoint, signature):
    assert endpoint(post(b'{"id":101}', signature=signature)).status == 401
    assert rows(sp) == []


def test_missing_signature_is_401(sp, endpoint):
    assert endpoint(post(b'{"id":101}', signature="")).status == 401


def test_reserialised_body_fails(sp, endpoint):
    body = b'{"id": 101}'
    req = post(body)
    tampered = Request("POST", req.path, headers=dict(req.headers), body=b'{"id":101}')
    assert endpoint(tampered).status == 401


def test_creation_ping_is_accepted_and_does_nothing(sp, endpoint):
    ping = Request("POST", "/privacy/webhooks/woocommerce", body=b"webhook_id=12",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert endpoint(ping).status == 200
    assert rows(sp) == []


def test_no_secret_configured_refuses_everything(sp, endpoint, adapter, options_factory):
    object.__setattr__(adapter, "options", options_factory(webhook_secret=""))
    assert endpoint(post(b'{"id":101}')).status == 401


@pytest.mark.parametrize(("body", "headers"), [
    (b"not json", {}), (b"[1,2]", {}), (b'{"id":"../x"}', {}), (b'{"id":101}', {"topic": "bad topic"}),
    (b'{"id":101}', {"delivery": ""}),
])
def test_malformed_deliveries_are_400(sp, endpoint, body, headers):
    assert endpoint(post(body, **headers)).status == 400
    assert rows(sp) == []


def test_subscription_payload_keeps_ids_only(sp, endpoint, shop):
    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid)
    body = json.dumps(shop.subscriptions[sid]).encode()
    assert endpoint(post(body, topic="subscription.updated", delivery="d-2")).status == 200
    (row,) = rows(sp)
    assert row.topic == SUBSCRIPTION_CHANGED
    assert row.payload == {"customer_id": str(cid), "subscription_id": str(sid), "status": "active"}
    assert "jane" not in json.dumps(row.payload) and "+336" not in json.dumps(row.payload)


def test_other_topics_are_acknowledged_without_work(sp, endpoint):
    assert endpoint(post(b'{"id":5,"billing":{"email":"jane@example.com"}}', topic="order.updated")).status == 200
    assert rows(sp) == []


def test_subscription_status_holds_and_releases_the_customer(sp, endpoint, shop):
    from shopprivacy.retention.tables import legal_holds

    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid, status="active")

    def holds():
        with sp.store.begin(write=False) as conn:
            return conn.execute(select(legal_holds.c.entity, legal_holds.c.row_key)).all()

    endpoint(post(json.dumps(shop.subscriptions[sid]).encode(), topic="subscription.updated", delivery="a"))
    assert sp.outbox.deliver_due().delivered == 1
    assert [tuple(h) for h in holds()] == [("woocommerce_customers", str(cid))]
    shop.subscriptions[sid]["status"] = "cancelled"
    endpoint(post(json.dumps(shop.subscriptions[sid]).encode(), topic="subscription.updated", delivery="b"))
    assert sp.outbox.deliver_due().delivered == 1
    assert holds() == []


def test_out_of_order_delivery_cannot_release_early(sp, endpoint, shop):
    from shopprivacy.retention.tables import legal_holds

    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid, status="active")
    stale = {**shop.subscriptions[sid], "status": "cancelled"}  # an old delivery arriving late
    endpoint(post(json.dumps(stale).encode(), topic="subscription.updated", delivery="late"))
    sp.outbox.deliver_due()
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(legal_holds.c.row_key)).scalars().all() == [str(cid)]


def test_customer_deleted_opens_a_verified_erasure_once(sp, endpoint):
    assert endpoint(post(b'{"id":101}', delivery="x1")).status == 200
    assert endpoint(post(b'{"id":101}', delivery="x2")).status == 200  # WooCommerce re-sent with a new id
    report = sp.outbox.deliver_due()
    assert report.delivered == 1  # the same deletion is one outbox row (keyed by customer id)
    opened = [r for r in sp.rights.find(limit=10) if r.external_id == "woocommerce:shop.example:customer.deleted:101"]
    assert len(opened) == 1
    assert opened[0].kind == "erase" and opened[0].verified and opened[0].verified_by == "woocommerce"


def test_customer_deleted_handler_uses_the_rights_contract(sp, endpoint):
    calls = []

    class Rights:
        def open(self, kind, identity, **kw):
            calls.append((kind, identity, kw))

    sp.__dict__["rights"] = Rights()
    endpoint(post(b'{"id":77}'))
    sp.outbox.deliver_due()
    assert calls == [("erase", {"customer_id": "77"},
                      {"channel": "woocommerce", "verified_by": "woocommerce",
                       "external_id": "woocommerce:shop.example:customer.deleted:77"})]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400),
       headers=st.dictionaries(st.sampled_from(["X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID",
                                                "X-WC-Webhook-Signature", "Content-Type", "X-WC-Webhook-Source"]),
                               st.text(max_size=60), max_size=5),
       sign=st.booleans())
def test_any_request_gets_a_4xx_or_200_never_a_500(sp, endpoint, body, headers, sign):
    if sign:
        headers = {**headers, "X-WC-Webhook-Signature": sign_base64(SECRET, body)}
    response = endpoint(Request("POST", "/privacy/webhooks/woocommerce", headers=headers, body=body))
    assert response.status in (200, 400, 401, 413)


def _holds(sp):
    from shopprivacy.retention.tables import legal_holds

    with sp.store.begin(write=False) as conn:
        return sorted(conn.execute(select(legal_holds.c.row_key)).scalars().all())


def test_same_second_deliveries_of_distinct_events_are_both_processed(sp, endpoint):
    """Defect 6: wp_hash($id . strtotime('now')) repeats within a second; a bulk delete must open every erasure."""
    same = "b6d3f4c2a1e0d9c8b7a6f5e4d3c2b1a0"
    assert json.loads(endpoint(post(b'{"id":101}', delivery=same)).body)["detail"] == "accepted"
    assert json.loads(endpoint(post(b'{"id":102}', delivery=same)).body)["detail"] == "accepted"
    assert json.loads(endpoint(post(b'{"id":102}', delivery=same)).body)["detail"] == "duplicate delivery"
    assert sp.outbox.deliver_due().delivered == 2
    opened = sorted(r.external_id for r in sp.rights.find(limit=10))
    assert opened == ["woocommerce:shop.example:customer.deleted:101", "woocommerce:shop.example:customer.deleted:102"]


def test_same_second_subscription_events_of_two_customers_both_hold(sp, endpoint, shop):
    a, b = shop.add_customer("a@example.com"), shop.add_customer("b@example.com")
    subs = [shop.add_subscription(a), shop.add_subscription(b)]
    for sid in subs:
        endpoint(post(json.dumps(shop.subscriptions[sid]).encode(), topic="subscription.created", delivery="same"))
    assert sp.outbox.deliver_due().delivered == 2
    assert _holds(sp) == sorted([str(a), str(b)])


def test_subscription_deleted_releases_the_hold_from_the_sdks_records(sp, endpoint, shop):
    """Defect 7: the deletion carries only {"id": N}; the customer comes from what the SDK saw before."""
    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid, status="active")
    endpoint(post(json.dumps(shop.subscriptions[sid]).encode(), topic="subscription.created", delivery="c"))
    sp.outbox.deliver_due()
    assert _holds(sp) == [str(cid)]
    del shop.subscriptions[sid]  # deleted for good: WooCommerce no longer answers for it
    assert endpoint(post(json.dumps({"id": sid}).encode(), topic="subscription.deleted", delivery="d")).status == 200
    assert sp.outbox.deliver_due().delivered == 1
    assert _holds(sp) == []


def test_subscription_deleted_reads_a_trashed_subscription_for_its_customer(sp, endpoint, shop):
    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid, status="active")
    sp.retention.hold("woocommerce_customers", str(cid), reason="placed before the SDK saw the subscription")
    shop.subscriptions[sid]["status"] = "trash"
    endpoint(post(json.dumps({"id": sid}).encode(), topic="subscription.deleted", delivery="t"))
    sp.outbox.deliver_due()
    assert _holds(sp) == []


def test_subscription_deleted_keeps_the_hold_while_another_is_live(sp, endpoint, shop):
    cid = shop.add_customer("jane@example.com")
    gone, other = shop.add_subscription(cid), shop.add_subscription(cid, status="on-hold")
    endpoint(post(json.dumps(shop.subscriptions[gone]).encode(), topic="subscription.updated", delivery="u"))
    sp.outbox.deliver_due()
    del shop.subscriptions[gone]
    endpoint(post(json.dumps({"id": gone}).encode(), topic="subscription.deleted", delivery="d"))
    sp.outbox.deliver_due()
    assert _holds(sp) == [str(cid)] and other in shop.subscriptions


@pytest.mark.parametrize("status", ["pending", "active", "on-hold", "pending-cancel", "cancelled", "expired"])
def test_hold_and_erasure_agree_on_live_statuses(sp, endpoint, shop, adapter, status):
    """Defect 11: a customer the erasure refuses for a live subscription is also held, and the reverse."""
    from shopprivacy_woocommerce import WooSubscriptionLive

    cid = shop.add_customer("jane@example.com")
    sid = shop.add_subscription(cid, status=status)
    endpoint(post(json.dumps(shop.subscriptions[sid]).encode(), topic="subscription.updated", delivery="s"))
    sp.outbox.deliver_due()
    try:
        adapter.erase_customer(str(cid), idempotency_key="e")
        refused = False
    except WooSubscriptionLive:
        refused = True
    assert refused == (_holds(sp) == [str(cid)])


@pytest.mark.parametrize("secret", ["tom&amp;jerry", "say &quot;hi&quot;", "it&#039;s", "a&#x27;b&lt;c&gt;",
                                    "&amp;lt;", "plain-secret"])
def test_entity_encoded_secrets_verify_as_woocommerce_signs(sp, endpoint, adapter, options_factory, secret):
    """Defect 8: WooCommerce keys the HMAC with wp_specialchars_decode($secret, ENT_QUOTES)."""
    from shopprivacy_woocommerce.wordpress import wp_specialchars_decode

    object.__setattr__(adapter, "options", options_factory(webhook_secret=secret))
    body = b'{"id":101}'
    signed = post(body, signature=sign_base64(wp_specialchars_decode(secret).encode(), body))
    assert endpoint(signed).status == 200


def test_wp_specialchars_decode_matches_wordpress():
    from shopprivacy_woocommerce.wordpress import wp_specialchars_decode

    assert wp_specialchars_decode("tom&amp;jerry") == "tom&jerry"
    assert wp_specialchars_decode("&amp;lt;") == "&lt;"  # one pass, like strtr
    assert wp_specialchars_decode("&#39;&#0039;&#X27;&#x0027;") == "''''"
    assert wp_specialchars_decode("&#38;&#x26;&#00060;&#62;&quot;&#34;&#x22;") == "&&<>\"\"\""
    assert wp_specialchars_decode("&eacute;&nbsp;&#169;") == "&eacute;&nbsp;&#169;"  # not in the table
