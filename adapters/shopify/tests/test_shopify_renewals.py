"""End to end: sp.renewals runs over the Shopify adapter (Shopify answered by ``responses``)."""

from __future__ import annotations

from datetime import datetime, timezone

import responses
from shopify_fakes import ENDPOINT, Router, attempt, contract, page

from shopprivacy import ShopPrivacy

UNTIL = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
SUCCESS = {"__typename": "SubscriptionBillingAttemptSuccessState", "order": {"id": "gid://shopify/Order/77"}}
PENDING = {"__typename": "SubscriptionBillingAttemptPendingState", "processing": True}


@responses.activate
def test_renewal_run_bills_each_period_once(sp: ShopPrivacy) -> None:
    due = page([contract(1, email="jane@example.com"), contract(2),
                contract(3, next_billing="2026-12-24T09:00:00Z")])
    router = Router().on("DueSubscriptionContracts", due).on("SubscriptionBillingAttemptCreate", attempt(SUCCESS))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)

    report = sp.renewals.run(until=UNTIL)
    assert (report.seen, report.billed, report.errors, report.cleaned_orders) == (2, 2, 0, 0)
    bills = [c[1] for c in router.calls if c[0] == "SubscriptionBillingAttemptCreate"]
    assert [b["id"] for b in bills] == ["gid://shopify/SubscriptionContract/1", "gid://shopify/SubscriptionContract/2"]
    keys = {b["input"]["idempotencyKey"] for b in bills}
    assert len(keys) == 2 and all(k.startswith("rn_") for k in keys)
    # the scan asked for the renewal allow-list only: no names, phones or notes
    query = router.calls[0][2]
    assert "firstName" not in query and "phone" not in query and "note" not in query

    again = sp.renewals.run(until=UNTIL)
    assert (again.seen, again.billed, again.already_done) == (2, 0, 2)
    assert len([c for c in router.calls if c[0] == "SubscriptionBillingAttemptCreate"]) == 2


@responses.activate
def test_pending_attempt_is_settled_later_with_the_same_key(sp: ShopPrivacy) -> None:
    router = (Router().on("DueSubscriptionContracts", page([contract(1)]))
              .on("SubscriptionBillingAttemptCreate", attempt(PENDING), attempt(SUCCESS)))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    first = sp.renewals.run(until=UNTIL)
    assert (first.pending, first.billed) == (1, 0)
    second = sp.renewals.run(until=UNTIL)
    assert second.billed == 1
    bills = [c[1]["input"]["idempotencyKey"] for c in router.calls if c[0] == "SubscriptionBillingAttemptCreate"]
    assert len(bills) == 2 and bills[0] == bills[1]


@responses.activate
def test_platform_failure_is_counted_not_raised(sp: ShopPrivacy) -> None:
    router = (Router().on("DueSubscriptionContracts", page([contract(1)]))
              .on("SubscriptionBillingAttemptCreate", (503, {"Retry-After": "1"}, "")))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    report = sp.renewals.run(until=UNTIL)
    assert (report.errors, report.billed) == (1, 0)
