"""Due scan with minimal selections, paging, line follow-ups, and billing attempts."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import responses
from shopify_fakes import ENDPOINT, Router, answer, attempt, contract, page
from shopprivacy_shopify import ShopifyAdapter, ShopifyUserError
from shopprivacy_shopify.contracts import contract_selection
from shopprivacy_shopify.errors import ShopifyAuthError, ShopifyGraphQLError, ShopifyHTTPError
from shopprivacy_shopify.subscriptions import BILL, ERROR_CODE_ALIASES

from shopprivacy.errors import InvalidInput, OutcomeUnknown, PlatformError
from shopprivacy.platforms import RENEWAL_FIELDS
from shopprivacy.renewals import ALLOWED_FIELDS, build_view

DUE = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_selection_asks_only_for_the_requested_fields() -> None:
    bare = contract_selection({"subscription_id", "payment_ref"})
    assert bare == "i:id s:status n:nextBillingDate p:customerPaymentMethod { i:id }"
    assert contract_selection({"subscription_id"}, bulk=True) == "id status nextBillingDate"
    full = contract_selection(ALLOWED_FIELDS)
    assert "defaultEmailAddress" in full and "deliveryMethod" in full and "lineDiscountedPrice" in full
    no_mail = contract_selection(ALLOWED_FIELDS - {"email"})
    assert "defaultEmailAddress" not in no_mail and "u:customer { i:id }" in no_mail
    assert "address1" not in contract_selection(ALLOWED_FIELDS - {"shipping_address"})
    with pytest.raises(InvalidInput):
        contract_selection({"ip_address"})


@responses.activate
def test_due_scan_pages_filters_and_maps(adapter: ShopifyAdapter) -> None:
    router = Router().on("DueSubscriptionContracts",
                         page([contract(1), contract(2, next_billing="2026-12-20T09:00:00Z")], next_cursor="c1"),
                         page([contract(3, status="PAUSED"), contract(4, email="jane@example.com")]))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    due = list(adapter.iter_due_subscriptions(due_before=DUE, fields=ALLOWED_FIELDS))
    assert [d["subscription_id"] for d in due] == ["gid://shopify/SubscriptionContract/1",
                                                   "gid://shopify/SubscriptionContract/4"]
    first = due[0]
    assert first == {
        "subscription_id": "gid://shopify/SubscriptionContract/1", "status": "active",
        "customer_ref": "gid://shopify/Customer/701", "email": None,
        "payment_ref": "gid://shopify/CustomerPaymentMethod/pm1", "currency": "EUR",
        "interval": {"unit": "month", "count": 1}, "next_billing_at": "2026-11-20T09:00:00Z",
        "lines": [{"variant_id": "gid://shopify/ProductVariant/40", "quantity": 1, "unit_price": "19.9",
                   "requires_shipping": True}],
        "amount": "24.8",
        "shipping_address": {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001",
                             "country": "FR"}}
    assert due[1]["email"] == "jane@example.com"
    view = build_view(first)
    assert view.record is not None and view.dropped == ()
    assert [c[1]["after"] for c in router.calls] == [None, "c1"]
    assert all(c[1]["first"] == 20 for c in router.calls)
    assert 'query: "status:ACTIVE"' in router.calls[0][2]


@responses.activate
def test_due_scan_returns_only_requested_keys(adapter: ShopifyAdapter) -> None:
    router = Router().on("DueSubscriptionContracts", page([contract(1)]))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    due = list(adapter.iter_due_subscriptions(due_before=DUE, fields={"payment_ref", "currency"}))
    assert due == [{"payment_ref": "gid://shopify/CustomerPaymentMethod/pm1", "currency": "EUR"}]
    assert "lines" not in router.calls[0][2] and "customer {" not in router.calls[0][2]


@responses.activate
def test_contract_with_many_lines_is_completed(adapter: ShopifyAdapter) -> None:
    first_ten = contract(1, lines=10)["lines"]["nodes"]
    more = {"nodes": [*first_ten, {"variantId": "gid://shopify/ProductVariant/99", "quantity": 2,
                                   "currentPrice": {"amount": "5.00"}, "requiresShipping": False,
                                   "lineDiscountedPrice": {"amount": "10.00"}}],
            "pageInfo": {"hasNextPage": False, "endCursor": "L2"}}
    router = (Router().on("DueSubscriptionContracts", page([contract(1, lines=10, more_lines=True)]))
              .on("SubscriptionContractLines", answer({"subscriptionContract": {"lines": more}})))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    (due,) = adapter.iter_due_subscriptions(due_before=DUE, fields=ALLOWED_FIELDS)
    assert len(due["lines"]) == 11 and due["amount"] == "213.90"
    lines_call = [c for c in router.calls if c[0] == "SubscriptionContractLines"][0]
    assert lines_call[1] == {"id": "gid://shopify/SubscriptionContract/1", "after": None}
    assert due["lines"][-1]["variant_id"] == "gid://shopify/ProductVariant/99"


def test_due_before_must_be_aware(adapter: ShopifyAdapter) -> None:
    with pytest.raises(InvalidInput):
        list(adapter.iter_due_subscriptions(due_before=datetime(2026, 1, 1), fields={"subscription_id"}))
    with pytest.raises(InvalidInput):
        list(adapter.iter_due_subscriptions(due_before=DUE, fields=RENEWAL_FIELDS | {"phone"}))


@pytest.mark.parametrize(("state", "status", "order", "code"), [
    ({"__typename": "SubscriptionBillingAttemptPendingState", "processing": True}, "pending", None, None),
    ({"__typename": "SubscriptionBillingAttemptSuccessState", "order": {"id": "gid://shopify/Order/5"}},
     "ready", "gid://shopify/Order/5", None),
    # each error member's code answers under its own alias (one key "code" for all is invalid GraphQL)
    ({"__typename": "SubscriptionBillingAttemptFailedState",
      "error": {"__typename": "SubscriptionBillingAttemptPaymentError", "paymentErrorCode": "CARD_DECLINED"}},
     "failed", None, "CARD_DECLINED"),
    ({"__typename": "SubscriptionBillingAttemptFailedState",
      "error": {"__typename": "SubscriptionBillingAttemptGeneralError", "generalErrorCode": "CUSTOMER_NOT_FOUND"}},
     "failed", None, "CUSTOMER_NOT_FOUND"),
    ({"__typename": "SubscriptionBillingAttemptFailedState",
      "error": {"__typename": "SubscriptionBillingAttemptInventoryError",
                "inventoryErrorCode": "INSUFFICIENT_INVENTORY"}},
     "failed", None, "INSUFFICIENT_INVENTORY"),
    ({"__typename": "SubscriptionBillingAttemptFailedState",
      "error": {"__typename": "SubscriptionBillingAttemptUnexpectedError"}},
     "failed", None, "SubscriptionBillingAttemptUnexpectedError"),
    ({"__typename": "SubscriptionBillingAttemptActionRequiredState"}, "pending", None, None),
])
@responses.activate
def test_billing_attempt_states(adapter: ShopifyAdapter, state: dict[str, object], status: str,
                                order: str | None, code: str | None) -> None:
    router = Router().on("SubscriptionBillingAttemptCreate", attempt(state))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    result = adapter.create_billing_attempt("gid://shopify/SubscriptionContract/1", idempotency_key="rn_abc",
                                            origin_time=datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc))
    assert (result.status, result.order_id, result.error_code) == (status, order, code)
    assert result.attempt_id == "gid://shopify/SubscriptionBillingAttempt/1"
    assert router.calls[0][1] == {"id": "gid://shopify/SubscriptionContract/1",
                                  "input": {"idempotencyKey": "rn_abc", "originTime": "2026-11-24T13:00:00Z"}}


def test_billing_attempt_error_codes_have_one_alias_each() -> None:
    """GraphQL refuses one response key for the error members' differently typed ``code`` fields."""
    fragments = re.findall(r"\.\.\. on (SubscriptionBillingAttempt\w+Error) \{ (\w+): code \}", BILL)
    assert dict(fragments) == ERROR_CODE_ALIASES
    assert len(set(ERROR_CODE_ALIASES.values())) == len(ERROR_CODE_ALIASES)
    assert not re.search(r"\{ code \}", BILL)


@responses.activate
def test_billing_attempt_user_errors_are_permanent(adapter: ShopifyAdapter) -> None:
    refused = answer({"subscriptionBillingAttemptCreate": {"subscriptionBillingAttempt": None, "userErrors": [
        {"field": ["subscriptionContractId"], "message": "Contract not active", "code": "CONTRACT_NOT_ACTIVE"}]}})
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("SubscriptionBillingAttemptCreate", refused))
    with pytest.raises(ShopifyUserError) as info:
        adapter.create_billing_attempt("1", idempotency_key="k", origin_time=DUE)
    assert not info.value.retryable and "CONTRACT_NOT_ACTIVE" in str(info.value)


NO_ATTEMPT = answer({"subscriptionBillingAttemptCreate": {"subscriptionBillingAttempt": None, "userErrors": []}})


@pytest.mark.parametrize(("answer_", "cause"), [
    ((200, {"Content-Type": "text/html"}, "<html><body>Shopify is down for maintenance</body></html>"),
     "ResponseError"),
    ((200, {}, '{"data": {"subscriptionBillingAttemptCreate": {"subscriptionBilling'), "ResponseError"),
    ((200, {}, {"data": None}), "ResponseError"),
    (NO_ATTEMPT, "ResponseError"),
    ((502, {}, "<html>Bad Gateway</html>"), "HTTPError"),
    (requests.ConnectionError("connection reset by peer"), "HTTPError"),
    ({"errors": [{"message": "x", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}, "GraphQLError"),
])
@responses.activate
def test_billing_attempt_without_a_definite_answer_is_outcome_unknown(adapter: ShopifyAdapter, answer_: Any,
                                                                      cause: str) -> None:
    router = Router().on("SubscriptionBillingAttemptCreate", answer_)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    with pytest.raises(OutcomeUnknown) as info:
        adapter.create_billing_attempt("1", idempotency_key="rn_k", origin_time=DUE)
    assert info.value.retryable and type(info.value.__cause__).__name__ == "Shopify" + cause
    assert {c[1]["input"]["idempotencyKey"] for c in router.calls} == {"rn_k"}


@pytest.mark.parametrize(("answer_", "error"), [
    ((401, {}, ""), ShopifyAuthError),
    ((422, {}, "{}"), ShopifyHTTPError),
    ((429, {"Retry-After": "2"}, ""), ShopifyHTTPError),
    ({"errors": [{"message": "x", "extensions": {"code": "ACCESS_DENIED"}}]}, ShopifyGraphQLError),
])
@responses.activate
def test_billing_attempt_refused_before_it_ran_is_definite(adapter: ShopifyAdapter, answer_: Any,
                                                           error: type[PlatformError]) -> None:
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("SubscriptionBillingAttemptCreate", answer_))
    with pytest.raises(error) as info:
        adapter.create_billing_attempt("1", idempotency_key="rn_k", origin_time=DUE)
    assert not isinstance(info.value, OutcomeUnknown)
