"""Corrections on WooCommerce (``PUT customers/{id}``) and the erasure read-back, alone and through the SDK's
outbox over a flaky network (issue 18, items 13 and 14)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from shopprivacy_woocommerce import WooClient, WooCommerceAdapter, WooCommerceOptions
from shopprivacy_woocommerce.errors import WooInvalidRequest
from shopprivacy_woocommerce.privacy import KEPT_AFTER_ERASURE
from shopprivacy_woocommerce.testing import FakeWooCommerce, Reply

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.rights.model import RECTIFIABLE, Notice
from shopprivacy.store import Store
from shopprivacy.testing import FakeClock

SITE = "https://shop.example"
OPTIONS = {"site_url": SITE, "consumer_key": "ck_test_key_123", "consumer_secret": "cs_test_secret_456",
           "max_wait": "5"}


class FlakyWoo(FakeWooCommerce):
    """The fake shop, with failures served first to the requests they match: ``(method, path prefix, failure)``,
    a failure being an exception to raise or an HTTP reply."""

    def __init__(self, site: str) -> None:
        super().__init__(site)
        self.failures: list[tuple[str, str, BaseException | Reply]] = []

    def handle(self, request: requests.PreparedRequest) -> Reply:
        path = str(request.url).split("/wp-json/", 1)[1]
        for i, (method, prefix, failure) in enumerate(self.failures):
            if request.method == method and path.startswith(prefix):
                del self.failures[i]
                if isinstance(failure, BaseException):
                    raise failure
                return failure
        return super().handle(request)


@pytest.fixture
def shop(rsps: responses.RequestsMock) -> FlakyWoo:
    fake = FlakyWoo(SITE)
    fake.install(rsps)
    return fake


def test_a_correction_writes_the_account_and_the_copies_that_held_its_value(shop: FlakyWoo,
                                                                           adapter: WooCommerceAdapter) -> None:
    cid = shop.add_customer("jane@example.com", first_name="Jnae")
    shop.customers[cid]["billing"]["first_name"] = "Jnae"
    shop.customers[cid]["shipping"]["first_name"] = "Gift for Sam"  # a different person: left alone
    got = adapter.rectify_customer(str(cid), {"email": "jane.doe@example.net", "first_name": "Jane",
                                              "phone": "+33699999999", "address": "2 rue Neuve, Lyon"},
                                   idempotency_key="k")
    (put,) = [body for path, body in shop.puts if path == f"customers/{cid}"]
    assert put == {"email": "jane.doe@example.net", "first_name": "Jane",
                   "billing": {"email": "jane.doe@example.net", "first_name": "Jane", "phone": "+33699999999"}}
    held = shop.customers[cid]
    assert (held["email"], held["first_name"], held["billing"]["phone"]) == ("jane.doe@example.net", "Jane",
                                                                             "+33699999999")
    assert held["shipping"]["first_name"] == "Gift for Sam"
    assert got.corrected == {"email": "email, billing.email", "first_name": "first_name, billing.first_name",
                             "phone": "billing.phone"}
    assert set(got.manual) == {"address"} and "WordPress admin" in got.manual["address"]
    get = [c for c in shop.calls if c[0] == "GET"]
    assert get == [("GET", f"wc/v3/customers/{cid}")]


def test_a_correction_of_an_unknown_customer_writes_nothing(shop: FlakyWoo, adapter: WooCommerceAdapter) -> None:
    got = adapter.rectify_customer("999", {"first_name": "Jane"}, idempotency_key="k")
    assert not got.found and not shop.puts


def test_an_address_another_user_has_is_refused_and_not_retried(shop: FlakyWoo, adapter: WooCommerceAdapter) -> None:
    cid = shop.add_customer("jane@example.com")
    shop.add_customer("taken@example.net")
    with pytest.raises(WooInvalidRequest) as info:
        adapter.rectify_customer(str(cid), {"email": "taken@example.net"}, idempotency_key="k")
    assert not info.value.retryable and shop.customers[cid]["email"] == "jane@example.com"


def test_the_erasure_read_back(shop: FlakyWoo, adapter: WooCommerceAdapter) -> None:
    cid = shop.add_customer("jane@example.com")
    shop.add_order(cid)
    before = adapter.verify_erasure(str(cid))
    assert before.remaining == ("customer", "orders x1") and not before.erased
    adapter.erase_customer(str(cid), idempotency_key="e1")
    after = adapter.verify_erasure(str(cid))
    assert after.erased and after.retained == KEPT_AFTER_ERASURE


# -- through the SDK: outbox, retries, receipts -------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def woo_sp(db_url: str, shop: FlakyWoo, clock: FakeClock) -> Iterator[ShopPrivacy]:
    options = WooCommerceOptions.parse(OPTIONS)
    adapter = WooCommerceAdapter(options, client=WooClient(options, sleep=lambda seconds: None))
    store = Store.from_url(db_url)
    store.upgrade()
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(), platform="woocommerce",
                        public_base_url="https://shop.example", rights={"operator_email": "dpo@shop.example"})
    app = ShopPrivacy(settings, store=store, adapter=adapter, clock=clock)
    yield app
    app.close()


def lines(sp: ShopPrivacy, request_id: str) -> dict[str, tuple[str, str]]:
    return {f.field: (f.outcome, f.reason) for s in sp.rights.receipt(request_id).sources
            if s.source == "platform:woocommerce" for f in s.fields}


def test_a_correction_reaches_woocommerce_through_a_flaky_network(woo_sp: ShopPrivacy, shop: FlakyWoo,
                                                                  clock: FakeClock) -> None:
    cid = shop.add_customer("jane@example.com", last_name="Deo")
    shop.customers[cid]["billing"]["last_name"] = "Deo"
    req = woo_sp.rights.open("rectify", {"customer_id": str(cid)}, verified_by="shop-login",
                             changes={"last_name": "Doe"})
    assert woo_sp.rights.process(req.id).state == "in_progress"
    shop.failures += [("GET", f"wc/v3/customers/{cid}", requests.Timeout("read")),
                      ("PUT", f"wc/v3/customers/{cid}", (503, {"Retry-After": "3600"}, ""))]
    assert woo_sp.outbox.deliver_due().retried == 1  # the shop asked for an hour: the outbox waits
    assert woo_sp.rights.get(req.id).state == "in_progress" and shop.customers[cid]["last_name"] == "Deo"
    clock.advance(hours=2)
    woo_sp.outbox.deliver_due()
    assert woo_sp.rights.get(req.id).state == "done"
    assert shop.customers[cid]["last_name"] == shop.customers[cid]["billing"]["last_name"] == "Doe"
    assert lines(woo_sp, req.id) == {"last_name": ("corrected", "on woocommerce: last_name, billing.last_name")}


def test_a_woocommerce_erasure_is_read_back_through_a_flaky_network(woo_sp: ShopPrivacy, shop: FlakyWoo,
                                                                   clock: FakeClock) -> None:
    cid = shop.add_customer("jane@example.com")
    shop.add_order(cid)
    req = woo_sp.rights.open("erase", {"customer_id": str(cid)}, verified_by="operator")
    woo_sp.rights.process(req.id)
    shop.failures += [("GET", f"wc/v3/customers/{cid}", requests.ConnectionError("reset"))] * 5
    report = woo_sp.outbox.deliver_due()
    assert report.errors == {"WooUnavailable": 1}  # the read-back met a dead network, beyond the client's retries
    assert woo_sp.rights.get(req.id).state == "in_progress" and cid not in shop.customers
    clock.advance(hours=1)
    woo_sp.outbox.deliver_due()
    assert woo_sp.rights.get(req.id).state == "done"
    got = lines(woo_sp, req.id)
    assert got["customer"] == ("erased", "read back: erased on woocommerce")
    assert got["orders.line_items,totals,taxes"] == ("retained", "kept: " + KEPT_AFTER_ERASURE[
        "orders.line_items,totals,taxes"])


def test_an_erasure_woocommerce_did_not_complete_is_sent_again_then_flagged(woo_sp: ShopPrivacy, shop: FlakyWoo,
                                                                             clock: FakeClock) -> None:
    cid = shop.add_customer("jane@example.com")
    shop.add_order(cid)
    # a plugin that re-attaches orders on save (or an eraser that failed silently): the read-back sees it
    shop.failures += [("PUT", "wc-shopprivacy/v1/orders/", (200, {}, '{"id": 1, "anonymized": true}'))] * 3
    req = woo_sp.rights.open("erase", {"customer_id": str(cid)}, verified_by="operator")
    woo_sp.rights.process(req.id)
    report = woo_sp.outbox.deliver_due()
    assert report.dead == 1
    assert woo_sp.rights.get(req.id).state == "in_progress"
    assert "orders x1" in lines(woo_sp, req.id)["customer"][1]
    assert woo_sp.rights.receipt(req.id).failures == {
        "platform:woocommerce": "platform:woocommerce: erasure not verified on the platform"}
    sent: list[Notice] = []
    woo_sp.rights.set_sender(sent.append)
    clock.advance(hours=1)  # the notice waited for a sender
    woo_sp.outbox.deliver_due()
    assert [(n.kind, n.channel) for n in sent] == [("platform_erasure_unverified", "operator")]
    assert [d["topic"] for d in woo_sp.outbox.dead_letters()] == ["rights.platform_erase_check"]
    assert shop.failures == []  # the erasure was sent three times, each time answered without detaching


CORRECTION_FIELDS = {"email", "first_name", "last_name", "billing.email", "billing.first_name", "billing.last_name",
                     "billing.phone", "shipping.first_name", "shipping.last_name"}
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=40, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(sorted(RECTIFIABLE)), text, min_size=1),
       billing_same=st.booleans())
def test_a_correction_sends_only_the_listed_fields_and_accounts_for_every_one(changes: dict[str, str],
                                                                             billing_same: bool) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FlakyWoo(SITE)
        fake.install(rsps)
        cid = fake.add_customer("jane@example.com")
        if not billing_same:
            fake.customers[cid]["billing"].update(first_name="Someone", email="other@example.net")
        options = WooCommerceOptions.parse(OPTIONS)
        woo = WooCommerceAdapter(options, client=WooClient(options, sleep=lambda seconds: None))
        got = woo.rectify_customer(str(cid), changes, idempotency_key="k")
    assert set(got.corrected) | set(got.manual) == set(changes) and not set(got.corrected) & set(got.manual)
    for _, body in fake.puts:
        sent = {f"{k}.{n}" if isinstance(v, dict) else k for k, v in body.items()
                for n in (v if isinstance(v, dict) else [k])}
        assert sent <= CORRECTION_FIELDS
        assert all(isinstance(v, str) for part in body.values() for v in (part.values() if isinstance(part, dict)
                                                                            else [part]))
    assert len(fake.puts) == (1 if set(got.corrected) else 0)


def test_an_opt_out_of_sale_reaches_woocommerce_through_the_outbox(woo_sp: ShopPrivacy, shop: FlakyWoo,
                                                                    clock: FakeClock) -> None:
    """The customer is found by e-mail address; the meta write meets a dead network first and is retried until
    it lands; the meta the consent plugin reads is then set, and a repeated request writes nothing."""
    from shopprivacy_woocommerce.adapter import SALE_OPT_OUT_META

    cid = shop.add_customer("jane@example.com")
    shop.failures.append(("PUT", f"wc/v3/customers/{cid}", requests.ConnectionError("reset")))
    req = woo_sp.rights.open("opt_out_sale", {"email": "jane@example.com"}, verified_by="shop-login", regime="ccpa")
    assert woo_sp.rights.process(req.id).state == "in_progress"
    for _ in range(3):  # the client or the outbox retries the reset write
        woo_sp.outbox.deliver_due()
        clock.advance(hours=1)
    assert woo_sp.rights.get(req.id).state == "done" and shop.failures == []
    meta = {m["key"]: m["value"] for m in shop.customers[cid]["meta_data"]}
    assert meta[SALE_OPT_OUT_META]["opted_out"] is True
    assert lines(woo_sp, req.id) == {"sale_opt_out": ("opted_out",
                                                      f"on woocommerce: customer meta {SALE_OPT_OUT_META}")}
    puts = [c for c in shop.calls if c[0] == "PUT"]
    again = woo_sp.rights.open("opt_out_sale", {"email": "jane@example.com"}, verified_by="shop-login")
    woo_sp.rights.process(again.id)
    woo_sp.outbox.deliver_due()
    assert woo_sp.rights.get(again.id).state == "done" and [c for c in shop.calls if c[0] == "PUT"] == puts
