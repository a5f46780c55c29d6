import copy
from datetime import datetime, timedelta, timezone

import pytest
from shopprivacy_woocommerce import WooCompanionMissing, WooSubscriptionLive, consent_meta_key
from shopprivacy_woocommerce.privacy import DELETED_EMAIL, LIVE_RETRY_SECONDS

from shopprivacy.platforms import MarketingConsentUpdate

AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_find_customer_minimal_fields(shop, rsps, adapter):
    cid = shop.add_customer("jane@example.com")
    ref = adapter.find_customer(email="jane@example.com")
    assert ref is not None and ref.id == str(cid) and ref.email == "jane@example.com"
    assert "_fields=id%2Cemail" in rsps.calls[-1].request.url
    assert "role=all" in rsps.calls[-1].request.url
    assert adapter.find_customer(email="nobody@example.com") is None
    assert adapter.find_customer(customer_id=str(cid)).id == str(cid)
    assert adapter.find_customer(customer_id="999999") is None
    with pytest.raises(Exception, match="e-mail"):
        adapter.find_customer()


def _update(subscribed, at=AT, **kw):
    return MarketingConsentUpdate(list_id="newsletter", subscribed=subscribed, opt_in_level="confirmed_opt_in",
                                  consent_updated_at=at, **kw)


def test_marketing_consent_as_customer_meta(shop, adapter):
    cid = shop.add_customer("jane@example.com")
    adapter.set_marketing_consent(_update(True, customer_id=str(cid)), idempotency_key="k1")
    meta = {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}
    value = meta[consent_meta_key("newsletter")]
    assert consent_meta_key("newsletter") == "shopprivacy_marketing_newsletter"
    assert value["subscribed"] is True and value["opt_in_level"] == "confirmed_opt_in"
    # an older update arriving late never overwrites the newer state
    adapter.set_marketing_consent(_update(False, at=AT - timedelta(days=1), email="jane@example.com"),
                                  idempotency_key="k0")
    assert {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}[consent_meta_key("newsletter")][
        "subscribed"] is True
    adapter.set_marketing_consent(_update(False, at=AT + timedelta(hours=1), email="jane@example.com"),
                                  idempotency_key="k2")
    meta = {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}
    assert meta[consent_meta_key("newsletter")]["subscribed"] is False
    assert len(shop.customers[cid]["meta_data"]) == 1
    writes = shop.calls.count(("PUT", f"wc/v3/customers/{cid}"))
    adapter.set_marketing_consent(_update(False, at=AT + timedelta(hours=1), email="jane@example.com"),
                                  idempotency_key="k2")
    assert shop.calls.count(("PUT", f"wc/v3/customers/{cid}")) == writes  # replay: no write


def test_consent_for_unknown_subscriber_is_a_no_op(shop, adapter):
    adapter.set_marketing_consent(_update(True, email="stranger@example.com"), idempotency_key="k")
    assert not [c for c in shop.calls if c[0] == "PUT"]
    with pytest.raises(Exception, match="letters"):
        consent_meta_key("news letter!")


def test_export_withholds_gateway_tokens(shop, adapter):
    cid = shop.add_customer("jane@example.com")
    shop.add_order(cid)
    shop.add_subscription(cid)
    data = adapter.export_customer(str(cid))
    assert data["customer"]["email"] == "jane@example.com"
    assert len(data["orders"]) == 1 and len(data["subscriptions"]) == 1
    text = repr(data)
    assert "cus_Q1w2" not in text and "pm_1Pq2" not in text
    assert {"key": "_stripe_customer_id", "value": "(withheld: internal or payment data)"} in \
        data["subscriptions"][0]["meta_data"]


def test_export_without_subscriptions_extension(shop, adapter):
    shop.subscriptions = None
    cid = shop.add_customer("jane@example.com")
    data = adapter.export_customer(str(cid))
    assert data["subscriptions"] == [] and "subscriptions" in data["notes"]


def test_erase_anonymises_orders_keeps_invoices_and_deletes_customer(shop, adapter):
    cid = shop.add_customer("jane@example.com")
    paid = shop.add_order(cid)
    unpaid = shop.add_order(cid, status="failed")
    old = shop.add_order(cid, status="completed", date_paid_gmt="2001-01-01T00:00:00")
    ended = shop.add_subscription(cid, status="cancelled")
    receipt = adapter.erase_customer(str(cid), idempotency_key="e1")
    assert cid not in shop.customers
    assert not receipt.pending
    kept = shop.orders[paid]["billing"]
    assert kept["last_name"] == "Doe" and kept["email"] == DELETED_EMAIL and kept["phone"] == "+00000000000"
    assert shop.orders[paid]["transaction_id"] == "ch_3Pq2Rs3Tu4"
    for oid in (unpaid, old):
        billing = shop.orders[oid]["billing"]
        assert billing["last_name"] == "[deleted]" and billing["address_1"] == "[deleted]"
        assert billing["email"] == DELETED_EMAIL and billing["country"] == ""
    for order in shop.orders.values():
        assert order["shipping"]["last_name"] == "[deleted]" and order["customer_id"] == 0
        assert order["customer_ip_address"] == "203.0.113.0" and order["customer_note"] == ""
        assert not [m for m in order["meta_data"] if m["key"].startswith("_wc_order_attribution_")]
    assert not [m for m in shop.subscriptions[ended]["meta_data"] if m["key"].startswith("_stripe_")]
    assert "orders.billing.name,address,transaction_id" in receipt.retained
    assert "orders.line_items,totals,taxes" in receipt.retained
    assert "product_reviews" in receipt.retained
    again = adapter.erase_customer(str(cid), idempotency_key="e1")  # repeat: customer already gone
    assert again.customer_id == str(cid)


def test_erase_keeps_totals_and_taxes(shop, adapter):
    """Defect 9: a REST PUT of billing/shipping makes WooCommerce recompute taxes from the emptied address."""
    cid = shop.add_customer("jane@example.com")
    orders = [shop.add_order(cid), shop.add_order(cid, status="failed")]
    ended = shop.add_subscription(cid, status="expired")
    money = ("total", "total_tax", "cart_tax", "shipping_total", "shipping_tax", "line_items")
    before = {oid: {k: shop.orders[oid][k] for k in money} for oid in orders}
    sub_before = {k: shop.subscriptions[ended][k] for k in money}
    adapter.erase_customer(str(cid), idempotency_key="e1")
    assert {oid: {k: shop.orders[oid][k] for k in money} for oid in orders} == before
    assert {k: shop.subscriptions[ended][k] for k in money} == sub_before
    assert shop.orders[orders[1]]["billing"]["country"] == ""  # the tax address is gone, the tax is not
    assert not [path for path, body in shop.puts if not path.startswith("companion:") and
                set(body) & {"billing", "shipping", "line_items", "shipping_lines"}]


def test_erase_without_the_companion_plugin_changes_nothing(shop, adapter):
    shop.companion = False
    cid = shop.add_customer("jane@example.com")
    oid = shop.add_order(cid)
    before = copy.deepcopy(shop.orders[oid])
    with pytest.raises(WooCompanionMissing, match="companion plugin") as info:
        adapter.erase_customer(str(cid), idempotency_key="e1")
    assert not info.value.retryable
    assert shop.orders[oid] == before and cid in shop.customers
    assert not [c for c in shop.calls if c[0] in ("PUT", "DELETE") and c[1].startswith("wc/v3/")]


def test_subscription_writes_never_carry_dates_addresses_or_status(shop, adapter):
    """Defect 10: subscription PUTs send meta_data only, so WooCommerce Subscriptions never calls
    update_dates nor recalculates the recurring totals; the dates are the same afterwards."""
    cid = shop.add_customer("jane@example.com")
    live = shop.add_subscription(cid, status="active")
    ended = shop.add_subscription(cid, status="cancelled")
    dates = ("start_date_gmt", "trial_end_date_gmt", "next_payment_date_gmt", "end_date_gmt", "total", "total_tax")
    snapshot = {s: {k: shop.subscriptions[s][k] for k in dates} for s in (live, ended)}
    assert adapter.clean_object("subscriptions", str(live))
    shop.subscriptions[live]["status"] = "cancelled"
    adapter.erase_customer(str(cid), idempotency_key="e1")
    assert {s: {k: shop.subscriptions[s][k] for k in dates} for s in (live, ended)} == snapshot
    sub_puts = [body for path, body in shop.puts if path.startswith("subscriptions/")]
    assert sub_puts and all(set(body) == {"meta_data"} for body in sub_puts)


@pytest.mark.parametrize("status", ["pending", "active", "on-hold", "pending-cancel"])
def test_erase_waits_for_live_subscriptions(shop, adapter, status):
    cid = shop.add_customer("jane@example.com")
    shop.add_subscription(cid, status=status)
    with pytest.raises(WooSubscriptionLive) as info:
        adapter.erase_customer(str(cid), idempotency_key="e1")
    assert info.value.retryable and info.value.retry_after == LIVE_RETRY_SECONDS
    assert cid in shop.customers
    assert not [c for c in shop.calls if c[0] in ("PUT", "DELETE")]


def test_rights_erasure_is_retried_until_the_subscription_ends(shop, adapter, db_url):
    """A live subscription: nothing is erased and the request is not reported done; it is once cancelled."""
    from shopprivacy import Keyset, Settings, ShopPrivacy
    from shopprivacy.store import Store

    now = [AT]
    store = Store.from_url(db_url)
    store.upgrade()
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(), platform="woocommerce",
                        public_base_url="https://shop.example")
    sp = ShopPrivacy(settings, store=store, adapter=adapter, clock=lambda: now[0])
    try:
        cid = shop.add_customer("jane@example.com")
        sid = shop.add_subscription(cid, status="active")
        req = sp.rights.open("erase", {"customer_id": str(cid)}, verified_by="operator")
        assert sp.rights.process(req.id).state == "in_progress"
        assert sp.outbox.deliver_due().retried == 1
        assert sp.rights.get(req.id).state == "in_progress" and cid in shop.customers
        assert sp.rights.receipt(req.id).failures == {"platform:woocommerce": "platform:woocommerce: "
                                                                              "WooSubscriptionLive"}
        shop.subscriptions[sid]["status"] = "cancelled"
        now[0] += timedelta(seconds=LIVE_RETRY_SECONDS + 60)
        sp.outbox.deliver_due()
        assert cid not in shop.customers and sp.rights.get(req.id).state == "done"
    finally:
        sp.close()


def test_doctor_reports_blank_retention_periods(shop, adapter):
    shop.account_settings = [{"id": "woocommerce_erasure_request_removes_order_data", "value": "no",
                              "type": "checkbox", "label": "x"}]
    shop.options = {"woocommerce_delete_inactive_accounts": {"number": "", "unit": "months"},
                    "woocommerce_trash_pending_orders": {"number": "30", "unit": "days"},
                    "woocommerce_trash_failed_orders": "",
                    "woocommerce_trash_cancelled_orders": {"number": "30", "unit": "days"},
                    "woocommerce_anonymize_completed_orders": {"number": "", "unit": "months"}}
    findings = list(adapter.doctor())
    warnings = [m for level, m in findings if level == "warning"]
    assert any(m.startswith("woocommerce_delete_inactive_accounts is blank") for m in warnings)
    assert any(m.startswith("woocommerce_trash_failed_orders is blank") for m in warnings)
    assert any(m.startswith("woocommerce_anonymize_completed_orders is blank") for m in warnings)
    assert not any("trash_pending" in m for m in warnings)
    assert any("erasure_request_removes_order_data is off" in m for m in warnings)
    assert ("ok", "REST API v3 reachable at shop.example") in findings


def test_doctor_when_options_cannot_be_read(shop, adapter):
    shop.options = None
    findings = list(adapter.doctor())
    assert any(level == "warning" and "check WooCommerce" in m for level, m in findings)


def test_doctor_with_a_wrong_key(shop, adapter):
    shop.auth = "Basic nope"
    assert list(adapter.doctor())[-1][0] == "problem"


def test_sale_opt_out_as_customer_meta(shop, adapter):
    from shopprivacy_woocommerce.adapter import SALE_OPT_OUT_META

    from shopprivacy.platforms import SaleOptOut

    cid = shop.add_customer("jane@example.com")
    got = adapter.opt_out_of_sale(SaleOptOut(email="jane@example.com"), idempotency_key="k1")
    assert got.found and str(got.customer_id) == str(cid)
    meta = {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}
    assert meta[SALE_OPT_OUT_META]["opted_out"] is True and meta[SALE_OPT_OUT_META]["source"] == "shopprivacy"
    writes = shop.calls.count(("PUT", f"wc/v3/customers/{cid}"))
    adapter.opt_out_of_sale(SaleOptOut(customer_id=str(cid)), idempotency_key="k2")
    assert shop.calls.count(("PUT", f"wc/v3/customers/{cid}")) == writes  # already opted out: no write
    assert not adapter.opt_out_of_sale(SaleOptOut(email="stranger@example.com"), idempotency_key="k3").found
