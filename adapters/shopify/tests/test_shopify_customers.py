"""Customer lookup, marketing consent, export and erasure requests."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import responses
from shopify_fakes import ENDPOINT, Router, answer
from shopprivacy_shopify import ShopifyAdapter, ShopifyResponseError
from shopprivacy_shopify.customers import customer_gid

from shopprivacy.errors import InvalidInput, PlatformError
from shopprivacy.platforms import MarketingConsentUpdate

AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_customer_gid() -> None:
    assert customer_gid(191167) == "gid://shopify/Customer/191167"
    assert customer_gid("gid://shopify/Customer/5") == "gid://shopify/Customer/5"
    for bad in ("gid://shopify/Order/5", "jane@example.com", "", "1" * 30):
        with pytest.raises(InvalidInput):
            customer_gid(bad)


@responses.activate
def test_find_customer_asks_for_the_id_only(adapter: ShopifyAdapter) -> None:
    router = (Router().on("CustomerByEmail", answer({"customerByIdentifier": {"id": "gid://shopify/Customer/9"}}),
                          answer({"customerByIdentifier": None}))
              .on("CustomerById", answer({"customer": {"id": "gid://shopify/Customer/9"}})))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    ref = adapter.find_customer(email=" jane@example.com ")
    assert ref is not None and ref.id == "gid://shopify/Customer/9" and ref.email == "jane@example.com"
    assert "{ id }" in router.calls[0][2] and router.calls[0][1] == {"email": "jane@example.com"}
    assert adapter.find_customer(email="nobody@example.com") is None
    assert adapter.find_customer(customer_id="9") is not None
    with pytest.raises(InvalidInput):
        adapter.find_customer()


@responses.activate
def test_marketing_consent_update(adapter: ShopifyAdapter) -> None:
    ok = answer({"customerEmailMarketingConsentUpdate": {"customer": {"id": "gid://shopify/Customer/9"},
                                                          "userErrors": []}})
    router = (Router().on("CustomerEmailMarketingConsentUpdate", ok)
              .on("CustomerMarketingConsent", held(None), held("2026-11-24T11:59:59Z"))
              .on("CustomerByEmail", answer({"customerByIdentifier": {"id": "gid://shopify/Customer/9"}})))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    adapter.set_marketing_consent(MarketingConsentUpdate(list_id="news", subscribed=True,
                                                         opt_in_level="confirmed_opt_in", consent_updated_at=AT,
                                                         customer_id="gid://shopify/Customer/9"),
                                  idempotency_key="k1")
    adapter.set_marketing_consent(MarketingConsentUpdate(list_id="news", subscribed=False, opt_in_level="unknown",
                                                         consent_updated_at=AT, email="jane@example.com"),
                                  idempotency_key="k2")
    sent = [c[1]["input"] for c in router.calls if c[0] == "CustomerEmailMarketingConsentUpdate"]
    assert sent == [
        {"customerId": "gid://shopify/Customer/9", "emailMarketingConsent": {
            "marketingState": "SUBSCRIBED", "marketingOptInLevel": "CONFIRMED_OPT_IN",
            "consentUpdatedAt": "2026-11-24T12:00:00+00:00"}},
        {"customerId": "gid://shopify/Customer/9", "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED", "consentUpdatedAt": "2026-11-24T12:00:00+00:00"}}]
    reads = [c for c in router.calls if c[0] == "CustomerMarketingConsent"]
    assert [c[1] for c in reads] == [{"id": "gid://shopify/Customer/9"}] * 2
    assert "defaultEmailAddress { marketingUpdatedAt }" in reads[0][2]  # the consent time, nothing personal


def held(at: str | None, *, address: bool = True) -> dict:
    """The answer to CustomerMarketingConsent: Shopify's consent time for customer 9."""
    email = {"marketingUpdatedAt": at} if address else None
    return answer({"customer": {"id": "gid://shopify/Customer/9", "defaultEmailAddress": email}})


@responses.activate
def test_an_older_consent_is_not_sent_over_a_newer_one_shopify_holds(adapter: ShopifyAdapter) -> None:
    ok = answer({"customerEmailMarketingConsentUpdate": {"customer": {"id": "gid://shopify/Customer/9"},
                                                          "userErrors": []}})
    router = (Router().on("CustomerEmailMarketingConsentUpdate", ok)
              .on("CustomerMarketingConsent", held("2026-11-24T12:00:01Z"), held("2026-11-24T12:00:00Z"),
                  held(None, address=False)))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)

    def send(at: datetime) -> None:
        adapter.set_marketing_consent(MarketingConsentUpdate(
            list_id="news", subscribed=True, opt_in_level="confirmed_opt_in", consent_updated_at=at,
            customer_id="9"), idempotency_key="k")

    send(AT)  # Shopify holds a consent one second newer: the late opt-in is not sent
    assert router.ops() == ["CustomerMarketingConsent"]
    send(AT)  # the same time: sent again (repeating a state is harmless)
    send(AT)  # no consent held yet: sent
    assert router.ops().count("CustomerEmailMarketingConsentUpdate") == 2


@responses.activate
@pytest.mark.parametrize("answer_", [
    {"customer": {"id": "gid://shopify/Customer/9", "defaultEmailAddress": {"marketingUpdatedAt": "yesterday"}}},
    {"customer": {"id": "gid://shopify/Customer/9", "defaultEmailAddress": {"marketingUpdatedAt": "2026-11-24"}}},
    {"customer": {"id": "gid://shopify/Customer/9", "defaultEmailAddress": "jane@example.com"}},
    {"customer": "gid://shopify/Customer/9"},
    {},
])
def test_a_malformed_consent_read_is_retryable_and_sends_nothing(adapter: ShopifyAdapter, answer_: dict) -> None:
    router = Router().on("CustomerMarketingConsent", answer(answer_))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    with pytest.raises(ShopifyResponseError) as info:
        adapter.set_marketing_consent(MarketingConsentUpdate(
            list_id="news", subscribed=False, opt_in_level="unknown", consent_updated_at=AT, customer_id="9"),
            idempotency_key="k")
    assert info.value.retryable and "jane" not in str(info.value)
    assert "CustomerEmailMarketingConsentUpdate" not in router.ops()


@responses.activate
def test_consent_is_sent_with_its_time_when_the_app_may_not_read_the_consent_held(adapter: ShopifyAdapter) -> None:
    denied = {"errors": [{"message": "Access denied for defaultEmailAddress field.", "path": ["customer"],
                          "extensions": {"code": "ACCESS_DENIED"}}], "data": {"customer": None}}
    ok = answer({"customerEmailMarketingConsentUpdate": {"customer": {"id": "gid://shopify/Customer/9"},
                                                          "userErrors": []}})
    router = Router().on("CustomerMarketingConsent", denied).on("CustomerEmailMarketingConsentUpdate", ok)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    adapter.set_marketing_consent(MarketingConsentUpdate(
        list_id="news", subscribed=False, opt_in_level="unknown", consent_updated_at=AT, customer_id="9"),
        idempotency_key="k")
    assert router.ops() == ["CustomerMarketingConsent", "CustomerEmailMarketingConsentUpdate"]
    assert router.calls[1][1]["input"]["emailMarketingConsent"]["consentUpdatedAt"] == AT.isoformat()


@responses.activate
def test_consent_for_a_deleted_customer_is_permanent(adapter: ShopifyAdapter) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerMarketingConsent", answer({"customer": None})))
    with pytest.raises(PlatformError) as info:
        adapter.set_marketing_consent(MarketingConsentUpdate(
            list_id="news", subscribed=False, opt_in_level="unknown", consent_updated_at=AT, customer_id="9"),
            idempotency_key="k")
    assert not info.value.retryable


@responses.activate
@pytest.mark.parametrize("data", [{}, {"customerByIdentifier": "gid://shopify/Customer/9"},
                                  {"customerByIdentifier": {"id": 9}}])
def test_a_malformed_lookup_is_not_taken_for_no_such_customer(adapter: ShopifyAdapter, data: dict) -> None:
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerByEmail", answer(data)))
    with pytest.raises(ShopifyResponseError) as info:
        adapter.find_customer(email="jane@example.com")
    assert info.value.retryable


@responses.activate
def test_marketing_consent_for_an_unknown_address_is_permanent(adapter: ShopifyAdapter) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerByEmail", answer({"customerByIdentifier": None})))
    with pytest.raises(PlatformError) as info:
        adapter.set_marketing_consent(MarketingConsentUpdate(list_id="n", subscribed=False, opt_in_level="unknown",
                                                             consent_updated_at=AT, email="x@example.com"),
                                      idempotency_key="k")
    assert not info.value.retryable and "x@example.com" not in str(info.value)


@responses.activate
def test_export_collects_customer_addresses_and_all_order_pages(adapter: ShopifyAdapter) -> None:
    customer = {"id": "gid://shopify/Customer/9", "firstName": "Jane", "lastName": "Doe", "note": None, "tags": [],
                "locale": "fr", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
                "defaultEmailAddress": {"emailAddress": "jane@example.com", "marketingState": "SUBSCRIBED",
                                        "marketingOptInLevel": "SINGLE_OPT_IN", "marketingUpdatedAt": None},
                "defaultPhoneNumber": None,
                "addressesV2": {"nodes": [{"address1": "1 Main St", "city": "Lyon", "countryCodeV2": "FR"}]}}

    def orders(after: str | None, ids: list[int], nxt: str | None) -> dict[str, object]:
        return answer({"customer": {"orders": {"nodes": [
            {"id": f"gid://shopify/Order/{i}", "name": f"#{i}", "lineItems": {"nodes": [{"name": "Beans"}]}}
            for i in ids], "pageInfo": {"hasNextPage": nxt is not None, "endCursor": nxt}}}})

    router = (Router().on("CustomerExport", answer({"customer": customer}))
              .on("CustomerExportOrders", orders(None, [1, 2], "o2"), orders("o2", [3], None)))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    export = adapter.export_customer("9")
    assert export["customer"]["firstName"] == "Jane" and "addressesV2" not in export["customer"]
    assert export["addresses"] == [{"address1": "1 Main St", "city": "Lyon", "countryCodeV2": "FR"}]
    assert [o["id"][-1] for o in export["orders"]] == ["1", "2", "3"]
    assert export["orders"][0]["lineItems"] == [{"name": "Beans"}]


@responses.activate
def test_erasure_request(adapter: ShopifyAdapter) -> None:
    router = Router().on("CustomerRequestDataErasure", answer({"customerRequestDataErasure": {
        "customerId": "gid://shopify/Customer/9", "userErrors": []}}))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    receipt = adapter.erase_customer("gid://shopify/Customer/9", idempotency_key="e1")
    assert receipt.pending and receipt.platform == "shopify" and receipt.customer_id == "gid://shopify/Customer/9"
    assert router.calls[0][1] == {"id": "gid://shopify/Customer/9"}
