"""Consent recorded on the WordPress side (customer meta ``shopprivacy_marketing_<list>``), delivered by
``customer.updated``: applied by one ``run-due`` with its ``updated_at`` as proof, never over a newer state, never
echoed back to WooCommerce; the SDK's own mirrored meta is recognised and ignored."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopprivacy_woocommerce.webhooks import MARKETING_CONSENT
from sqlalchemy import func, select
from test_woo_webhooks import post

from shopprivacy.errors import SuppressedRecipient
from shopprivacy.store.schema import inbox, outbox

pytestmark = pytest.mark.db
ADDRESS = "jane@example.com"


def customer(shop, *, subscribed, at, source="mailpoet", level="single_opt_in", key="shopprivacy_marketing_newsletter",
             **extra):
    cid = extra.pop("cid", None) or shop.add_customer(ADDRESS)
    data = dict(shop.customers[cid])
    value = {"subscribed": subscribed, "opt_in_level": level, "updated_at": at, "source": source}
    data["meta_data"] = [{"id": 7, "key": "_wc_last_active", "value": "1764000000"},
                         {"id": 8, "key": key, "value": value}]
    data.update(extra)
    return cid, json.dumps(data, separators=(",", ":")).encode()


@pytest.fixture
def endpoint(sp):
    (route,) = sp.adapter_routes
    return route.handler


def count(sp, topic=None):
    with sp.store.begin(write=False) as conn:
        q = select(func.count()).select_from(outbox)
        return conn.execute(q.where(outbox.c.topic == topic) if topic else q).scalar_one()


def run_due(sp):
    report = sp.run_due()
    assert report.outbox.dead == 0, report.outbox.errors


def test_an_unsubscribe_made_in_wordpress_suppresses_after_one_run_due_without_echo(sp, endpoint, shop):
    cid, body = customer(shop, subscribed=True, at="2026-11-24T09:00:00+00:00", level="confirmed_opt_in")
    assert endpoint(post(body, topic="customer.updated", delivery="d1")).status == 200
    run_due(sp)
    assert sp.email.state(ADDRESS, "newsletter") == "subscribed"
    _, body = customer(shop, subscribed=False, at="2026-11-24T10:00:00+00:00", cid=cid)
    assert endpoint(post(body, topic="customer.updated", delivery="d2")).status == 200
    assert not sp.email.is_suppressed(ADDRESS, "newsletter")
    run_due(sp)
    with pytest.raises(SuppressedRecipient):
        sp.email.guard(ADDRESS, "newsletter")
    assert [(h["action"], h["at"], h["source"]) for h in sp.email.subjects.history(ADDRESS)] == [
        ("platform_opt_in", "2026-11-24T09:00:00+00:00", "woocommerce:confirmed_opt_in:mailpoet"),
        ("platform_unsubscribed", "2026-11-24T10:00:00+00:00", "woocommerce:withdrawn:mailpoet")]
    assert count(sp, "email.marketing_consent") == 0  # nothing goes back to WooCommerce
    assert shop.customers[cid]["meta_data"] == []  # and nothing was written there
    with sp.store.begin(write=False) as conn:
        assert all(ADDRESS not in json.dumps(r.payload) for r in conn.execute(select(outbox.c.payload)))


def test_a_repeated_delivery_is_applied_once(sp, endpoint, shop):
    _, body = customer(shop, subscribed=False, at="2026-11-24T10:00:00+00:00")
    for _ in range(2):
        assert endpoint(post(body, topic="customer.updated", delivery="d1")).status == 200
    assert count(sp, MARKETING_CONSENT) == 1
    run_due(sp)
    assert [h["action"] for h in sp.email.subjects.history(ADDRESS)] == ["platform_unsubscribed"]


def test_out_of_order_deliveries_keep_the_newest_choice(sp, endpoint, shop):
    cid, newer = customer(shop, subscribed=False, at="2026-11-24T10:00:00")  # *_gmt style: no offset means UTC
    _, older = customer(shop, subscribed=True, at="2026-11-24T09:00:00+00:00", cid=cid)
    endpoint(post(newer, topic="customer.updated", delivery="d2"))
    endpoint(post(older, topic="customer.updated", delivery="d1"))
    run_due(sp)
    assert sp.email.is_suppressed(ADDRESS, "newsletter")


def test_the_sdks_own_meta_echoed_by_woocommerce_does_nothing(sp, endpoint, shop):
    _, body = customer(shop, subscribed=False, at="2026-11-24T10:00:00+00:00", source="shopprivacy")
    assert endpoint(post(body, topic="customer.updated", delivery="d1")).status == 200
    assert count(sp) == 0


def test_a_round_trip_through_woocommerce_is_not_applied_twice(sp, endpoint, shop):
    cid = shop.add_customer(ADDRESS)
    sp.email.unsubscribe_address(ADDRESS)  # the SDK's change, mirrored into the customer's meta by run-due
    run_due(sp)
    (entry,) = shop.customers[cid]["meta_data"]
    assert entry["value"]["source"] == "shopprivacy"
    body = json.dumps(shop.customers[cid]).encode()  # WooCommerce's customer.updated after that write
    assert endpoint(post(body, topic="customer.updated", delivery="d9")).status == 200
    assert count(sp, MARKETING_CONSENT) == 0
    assert [h["action"] for h in sp.email.subjects.history(ADDRESS)] == ["unsubscribed"]


@pytest.mark.parametrize("change", [
    {"key": "shopprivacy_marketing_unknown_list"}, {"email": "not an address"}, {"source": "<script>"},
    {"key": "shopprivacy_marketing_newsletter", "meta_data": "nope"},
])
def test_deliveries_without_usable_consent_are_acknowledged_without_work(sp, endpoint, shop, change):
    extra = {k: v for k, v in change.items() if k not in ("key", "source")}
    _, body = customer(shop, subscribed=False, at="2026-11-24T10:00:00+00:00",
                       key=change.get("key", "shopprivacy_marketing_newsletter"),
                       source=change.get("source", "mailpoet"), **extra)
    assert endpoint(post(body, topic="customer.updated", delivery="d1")).status == 200
    assert count(sp) == 0


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                      max_size=4), max_leaves=12)
meta_entry = st.fixed_dictionaries({"key": st.sampled_from(["shopprivacy_marketing_newsletter", "x"]) | st.text(),
                                    "value": json_values | st.fixed_dictionaries({
                                        "subscribed": json_values, "updated_at": json_values,
                                        "source": json_values, "opt_in_level": json_values})})
hostile = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                    st.fixed_dictionaries({"id": json_values, "email": json_values,
                                           "meta_data": st.lists(meta_entry, max_size=3) | json_values})
                    .map(lambda v: json.dumps(v).encode()))


@given(body=hostile)
def test_hostile_customer_bodies_never_fail_the_endpoint_or_write_unsigned(sp, endpoint, body):
    with sp.store.begin(write=False) as conn:
        before = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    assert endpoint(post(body, topic="customer.updated", delivery="h", signature="AAAA")).status == 401
    status = endpoint(post(body, topic="customer.updated", delivery="h")).status
    assert status in (200, 400)
    with sp.store.begin(write=False) as conn:
        after = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    if status == 400:
        assert after == before
    run_due(sp)  # whatever was accepted is applied without a dead letter
