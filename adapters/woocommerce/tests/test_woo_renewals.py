from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from shopprivacy.errors import UnsupportedOperation
from shopprivacy.platforms import RENEWAL_FIELDS, BillingResult
from shopprivacy.renewals import ALLOWED_FIELDS

DUE = datetime(2026, 11, 25, tzinfo=timezone.utc)


def _sent_fields(rsps, path):
    for call in rsps.calls:
        url = urlsplit(call.request.url)
        if url.path.endswith(path) and call.request.method == "GET":
            return set(parse_qs(url.query)["_fields"][0].split(","))
    raise AssertionError(f"no GET {path}")


def test_due_scan_asks_only_for_needed_fields_and_maps_vocabulary(shop, rsps, adapter):
    cid = shop.add_customer("jane@example.com")
    due = shop.add_subscription(cid, next_payment="2026-11-24T09:00:00")
    shop.add_subscription(cid, next_payment="2026-12-24T09:00:00")  # not due yet
    shop.add_subscription(cid, next_payment="2026-11-01T09:00:00", status="on-hold")  # not active
    got = list(adapter.iter_due_subscriptions(due_before=DUE, fields=ALLOWED_FIELDS - {"email"}))
    assert [g["subscription_id"] for g in got] == [str(due)]
    rec = got[0]
    assert set(rec) <= RENEWAL_FIELDS - {"email"}
    assert rec["payment_ref"] == f"stripe/subscription/{due}"
    assert rec["customer_ref"] == str(cid)
    assert rec["interval"] == {"unit": "month", "count": 1}
    assert rec["next_billing_at"] == "2026-11-24T09:00:00+00:00"
    assert rec["lines"] == [{"variant_id": "71", "quantity": 1, "unit_price": "16.58", "requires_shipping": True}]
    assert rec["shipping_address"]["city"] == "Lyon"
    sent = _sent_fields(rsps, "/subscriptions")
    assert "meta_data" not in sent and "billing" not in sent and "customer_ip_address" not in sent
    assert "billing.email" not in sent
    text = repr(got)
    assert "cus_" not in text and "pm_1" not in text and "203.0.113.9" not in text


def test_due_scan_pages_through_many_subscriptions(shop, adapter):
    cid = shop.add_customer("jane@example.com")
    for i in range(250):
        shop.add_subscription(cid, next_payment="2026-11-24T09:00:00" if i % 2 else "2027-01-01T00:00:00")
    got = list(adapter.iter_due_subscriptions(due_before=DUE, fields={"subscription_id", "next_billing_at"}))
    assert len(got) == 125
    assert shop.calls.count(("GET", "wc/v3/subscriptions")) == 3


def test_due_scan_needs_an_aware_time_and_known_fields(adapter):
    with pytest.raises(Exception, match="UTC offset"):
        list(adapter.iter_due_subscriptions(due_before=datetime(2026, 1, 1), fields={"status"}))
    with pytest.raises(Exception, match="not renewal fields"):
        list(adapter.iter_due_subscriptions(due_before=DUE, fields={"customer_ip_address"}))


def test_billing_is_not_triggered_over_rest(adapter):
    with pytest.raises(UnsupportedOperation, match="Action Scheduler"):
        adapter.create_billing_attempt("1", idempotency_key="k", origin_time=DUE)


def test_renewal_order_hygiene(shop, adapter):
    cid = shop.add_customer("jane@example.com")
    oid = shop.add_order(cid)
    cleaned = adapter.clean_renewal_order(str(oid))
    assert set(cleaned) == {"customer_ip_address", "customer_user_agent", "_wc_order_attribution_source_type",
                            "_wc_order_attribution_utm_source", "_wc_order_attribution_user_agent",
                            "_wc_order_attribution_session_pages"}
    order = shop.orders[oid]
    assert order["customer_ip_address"] == "" and order["customer_user_agent"] == ""
    assert [m["key"] for m in order["meta_data"]] == ["is_vat_exempt"]
    assert adapter.clean_renewal_order(str(oid)) == ()  # nothing left: no write


def test_hygiene_reports_only_what_is_really_gone(shop, rsps, adapter):
    cid = shop.add_customer("jane@example.com")
    oid = shop.add_order(cid)
    original = shop._update
    shop._update = lambda obj, body: None  # a shop whose REST ignores the meta writes
    assert adapter.clean_renewal_order(str(oid)) == ()
    shop._update = original


@pytest.mark.db
def test_end_to_end_renewal_run(sp, shop, adapter):
    cid = shop.add_customer("jane@example.com")
    subs = [shop.add_subscription(cid, next_payment=f"2026-11-2{i}T09:00:00") for i in range(3)]
    charged = []

    def charge(record, *, idempotency_key):
        # the shop's own gateway call; it records the renewal order in WooCommerce (here: the fake)
        oid = shop.add_order(int(record.customer_ref))
        charged.append((record.subscription_id, idempotency_key))
        return BillingResult(attempt_id=idempotency_key, status="ready", order_id=str(oid))

    report = sp.renewals.run(adapter, charge=charge, until=DUE)
    assert report.billed == 3 and report.cleaned_orders == 3 and report.errors == 0
    assert sorted(s for s, _ in charged) == sorted(str(s) for s in subs)
    for order in shop.orders.values():
        assert order["customer_ip_address"] == ""
        assert not [m for m in order["meta_data"] if m["key"].startswith("_wc_order_attribution_")]
    again = sp.renewals.run(adapter, charge=charge, until=DUE)
    assert again.billed == 0 and again.already_done == 3
    assert len(charged) == 3


@pytest.mark.db
def test_run_without_charge_does_upkeep_and_never_bills(sp, shop, adapter):
    """Defect 12: WooCommerce Subscriptions bills by itself; without charge= the job cleans and holds only,
    and the dry run prints exactly the steps the real run then takes."""
    from shopprivacy.cli import main

    cid = shop.add_customer("jane@example.com")
    due = [shop.add_subscription(cid, next_payment=f"2026-11-2{i}T09:00:00") for i in range(3)]
    shop.add_subscription(shop.add_customer("max@example.com"), next_payment="2027-01-01T00:00:00")
    orders_before = dict(shop.orders)

    def cli(*argv):
        import contextlib
        import io
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["renewals", "run", "--until", DUE.isoformat(), *argv], facade=lambda: sp) == 0
        lines = buf.getvalue().splitlines()
        return [line for line in lines if line.startswith(("would ", "did "))], lines

    planned, _dry_out = cli("--dry-run")
    assert shop.puts == [] and not sp.retention.is_held("woocommerce_customers", str(cid))
    done, real_out = cli()
    assert [p.removeprefix("would ") for p in planned] == [d.removeprefix("did ") for d in done]
    assert len(done) == 4  # one hold, three subscriptions cleaned
    assert sorted(d.split(":")[0] for d in done if "clean" in d) == sorted(
        f"did clean subscription {s}" for s in due)
    assert shop.orders == orders_before  # nothing billed, no order created over REST
    assert sp.retention.is_held("woocommerce_customers", str(cid))
    for sid in due:
        assert shop.subscriptions[sid]["customer_ip_address"] == ""
    assert any("upkeep 4" in line and "billed_by_platform 3" in line for line in real_out)
    again, _ = cli("--dry-run")
    assert again == []  # nothing left to do; the next real run does nothing
    assert cli()[0] == []


@pytest.mark.db
def test_charge_still_bills_through_the_shop(sp, shop, adapter):
    shop.add_subscription(shop.add_customer("jane@example.com"))

    def charge(record, *, idempotency_key):
        return BillingResult(attempt_id=idempotency_key, status="ready", order_id=None)

    assert sp.renewals.run(adapter, charge=charge, until=DUE).billed == 1
