"""Corrections on Shopify (``customerUpdate``) and the erasure read-back, alone and through the SDK's outbox over
a flaky network (issue 18, items 13 and 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from shopify_fakes import ENDPOINT, OPTIONS, Router, answer
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions
from shopprivacy_shopify.customers import KEPT_AFTER_ERASURE
from shopprivacy_shopify.errors import ShopifyUserError

from shopprivacy import Keyset, Settings, ShopPrivacy
from shopprivacy.rights.model import RECTIFIABLE
from shopprivacy.store import Store
from shopprivacy.testing import FakeClock

GID = "gid://shopify/Customer/9"
FOUND = answer({"customer": {"id": GID}})
GONE = answer({"customer": None})
UPDATED = answer({"customerUpdate": {"customer": {"id": GID}, "userErrors": []}})


@responses.activate
def test_a_correction_sends_the_corrected_fields_only(adapter: ShopifyAdapter) -> None:
    router = Router().on("CustomerById", FOUND).on("CustomerRectify", UPDATED)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    got = adapter.rectify_customer("9", {"email": " jane.doe@example.net ", "first_name": "Jane",
                                         "phone": "+33612345678", "address": "1 Rue de la Paix", "name": "Jane Doe"},
                                   idempotency_key="k")
    sent = [v for op, v, _ in router.calls if op == "CustomerRectify"]
    assert sent == [{"input": {"id": GID, "email": "jane.doe@example.net", "firstName": "Jane",
                               "phone": "+33612345678"}}]
    assert "customerUpdate(input: $input) { customer { id }" in router.calls[-1][2]
    assert got.corrected == {"email": "customer.email", "first_name": "customer.firstName", "phone": "customer.phone"}
    assert set(got.manual) == {"address", "name"} and "Shopify admin" in got.manual["address"]


@responses.activate
def test_a_correction_of_an_unknown_customer_writes_nothing(adapter: ShopifyAdapter) -> None:
    router = Router().on("CustomerById", GONE)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    got = adapter.rectify_customer(GID, {"first_name": "Jane"}, idempotency_key="k")
    assert not got.found and router.ops() == ["CustomerById"]


@responses.activate
def test_a_refused_correction_is_not_retried(adapter: ShopifyAdapter) -> None:
    refused = answer({"customerUpdate": {"customer": None, "userErrors": [
        {"field": ["email"], "message": "Email has already been taken"}]}})
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerById", FOUND)
                           .on("CustomerRectify", refused))
    with pytest.raises(ShopifyUserError) as info:
        adapter.rectify_customer(GID, {"email": "taken@example.net"}, idempotency_key="k")
    assert not info.value.retryable and "taken@example.net" not in str(info.value)


@responses.activate
def test_the_erasure_read_back(adapter: ShopifyAdapter) -> None:
    router = Router().on("CustomerById", FOUND, GONE)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    waiting = adapter.verify_erasure(GID)
    assert waiting.pending and not waiting.erased and waiting.remaining == ("customer",)
    assert waiting.recheck_after == 7 * 24 * 3600
    done = adapter.verify_erasure("9")
    assert done.erased and done.retained == KEPT_AFTER_ERASURE
    assert all("{ id }" in query for _, _, query in router.calls)  # the read-back asks for the id only


# -- through the SDK: outbox, retries, receipts -------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shop_sp(db_url: str, adapter: ShopifyAdapter, clock: FakeClock) -> Iterator[ShopPrivacy]:
    settings = Settings(database_url=db_url, keyset=Keyset.generate().to_json(),
                        public_base_url="https://shop.example", platform="shopify", platform_options=OPTIONS)
    store = Store.from_url(db_url)
    store.upgrade()
    app = ShopPrivacy(settings, store=store, adapter=adapter, clock=clock)
    yield app
    app.close()


def lines(sp: ShopPrivacy, request_id: str) -> dict[str, tuple[str, str]]:
    return {f.field: (f.outcome, f.reason) for s in sp.rights.receipt(request_id).sources
            if s.source == "platform:shopify" for f in s.fields}


@responses.activate
def test_a_correction_reaches_shopify_through_a_flaky_network(shop_sp: ShopPrivacy, clock: FakeClock) -> None:
    router = (Router().on("CustomerById", requests.ConnectionError("reset"), FOUND)
              .on("CustomerRectify", (502, {}, "<html>bad gateway</html>"), requests.Timeout("read"),
                  (503, {"Retry-After": "3600"}, ""), UPDATED))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    req = shop_sp.rights.open("rectify", {"customer_id": GID}, verified_by="shop-login",
                              changes={"first_name": "Jane", "address": "1 Rue de la Paix"})
    assert shop_sp.rights.process(req.id).state == "in_progress"
    report = shop_sp.outbox.deliver_due()
    assert report.retried == 1  # Shopify asked for an hour: the outbox waits, the request stays open
    assert shop_sp.rights.get(req.id).state == "in_progress"
    clock.advance(hours=2)
    shop_sp.outbox.deliver_due()
    assert shop_sp.rights.get(req.id).state == "done"
    assert lines(shop_sp, req.id) == {
        "first_name": ("corrected", "on shopify: customer.firstName"),
        "address": ("manual", "Shopify keeps addresses as structured fields (one address per record); correct it "
                              "in the Shopify admin")}
    sent = [v["input"] for op, v, _ in router.calls if op == "CustomerRectify"]
    assert sent[-1] == {"id": GID, "firstName": "Jane"}


@responses.activate
def test_a_shopify_erasure_is_read_back_until_shopify_completes_it(shop_sp: ShopPrivacy, clock: FakeClock) -> None:
    router = (Router().on("CustomerRequestDataErasure", answer({"customerRequestDataErasure": {
        "customerId": GID, "userErrors": []}}))
        .on("CustomerById", requests.Timeout("read"), requests.Timeout("read"), requests.Timeout("read"),
            requests.Timeout("read"), FOUND, FOUND, GONE))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    req = shop_sp.rights.open("erase", {"customer_id": GID}, verified_by="operator")
    shop_sp.rights.process(req.id)
    report = shop_sp.outbox.deliver_due()
    assert report.retried == 1  # the read-back met a dead network: the outbox tries it again
    assert shop_sp.rights.get(req.id).state == "done"  # Shopify accepted the erasure; it completes it itself
    clock.advance(hours=1)
    shop_sp.outbox.deliver_due()
    assert lines(shop_sp, req.id)["customer"][0] == "pending"
    clock.advance(days=8)
    shop_sp.outbox.deliver_due()  # still held by Shopify (recent orders)
    assert "read again later" in lines(shop_sp, req.id)["customer"][1]
    clock.advance(days=8)
    shop_sp.outbox.deliver_due()
    got = lines(shop_sp, req.id)
    assert got["customer"] == ("erased", "read back: erased on shopify")
    assert got["orders"] == ("retained", "kept: " + KEPT_AFTER_ERASURE["orders"])
    assert shop_sp.rights.receipt(req.id).failures == {}


@settings(max_examples=40, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(sorted(RECTIFIABLE)),
                               st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
                               min_size=1))
def test_a_correction_sends_customer_input_fields_only_and_accounts_for_every_one(changes: dict[str, str]) -> None:
    router = Router().on("CustomerById", FOUND).on("CustomerRectify", UPDATED)
    adapter = ShopifyAdapter(ShopifyOptions.from_mapping(OPTIONS), sleep=lambda seconds: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, ENDPOINT, callback=router)
        got = adapter.rectify_customer(GID, changes, idempotency_key="k")
    adapter.close()
    assert set(got.corrected) | set(got.manual) == set(changes) and not set(got.corrected) & set(got.manual)
    sent = [v["input"] for op, v, _ in router.calls if op == "CustomerRectify"]
    assert len(sent) == (1 if got.corrected else 0)
    for update in sent:
        assert set(update) <= {"id", "email", "firstName", "lastName", "phone"} and update["id"] == GID


@responses.activate
def test_an_opt_out_of_sale_reaches_shopify_through_the_outbox(shop_sp: ShopPrivacy, clock: FakeClock) -> None:
    """A customer known by id: its address is read, then ``dataSaleOptOut`` is sent (retried through a dead
    network); the receipt names ``customer.dataSaleOptOut`` and the signed-in customer's consent follows."""
    router = (Router().on("CustomerEmailAddress", requests.ConnectionError("reset"), answer({"customer": {
        "id": GID, "defaultEmailAddress": {"emailAddress": "jane@example.com"}}}))
        .on("DataSaleOptOut", answer({"dataSaleOptOut": {"customerId": GID, "userErrors": []}})))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    req = shop_sp.rights.open("opt_out_sale", {"customer_id": GID}, verified_by="shop-login", regime="ccpa")
    assert shop_sp.rights.process(req.id).state == "in_progress"
    shop_sp.outbox.deliver_due()
    clock.advance(hours=1)
    shop_sp.outbox.deliver_due()
    assert shop_sp.rights.get(req.id).state == "done"
    assert lines(shop_sp, req.id) == {"sale_opt_out": ("opted_out", "on shopify: customer.dataSaleOptOut")}
    assert [v for op, v, _ in router.calls if op == "DataSaleOptOut"] == [{"email": "jane@example.com"}]
    assert shop_sp.restrictions.consent_denials({"customer_id": "9"}) == frozenset({"sale_of_data"})
