"""End to end: sp.renewals runs over the Shopify adapter (Shopify answered by ``responses``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import responses
from shopify_fakes import ENDPOINT, FakeTime, Router, answer, attempt, contract, page
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.errors import PlatformAuthError
from shopprivacy.renewals import Renewals
from shopprivacy.renewals.tables import renewal_attempts

UNTIL = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
SUCCESS = {"__typename": "SubscriptionBillingAttemptSuccessState", "order": {"id": "gid://shopify/Order/77"}}
PENDING = {"__typename": "SubscriptionBillingAttemptPendingState", "processing": True}
HTML = (200, {"Content-Type": "text/html; charset=utf-8"}, "<!DOCTYPE html><html><body>Oops</body></html>")
CUT_OFF = (200, {"Content-Type": "application/json"}, '{"data":{"subscriptionBillingAttemptCreate":{"subscr')


def renewals_of(sp: ShopPrivacy, **options: Any) -> Renewals:
    """The renewals capability wired from the facade's collaborators, as ``sp.renewals`` is."""
    return Renewals(store=sp.store, audit=sp.audit, keyring=sp.keyring, retention=sp.retention,
                    adapter=lambda: sp.adapter, clock=sp.clock, **options)


def attempt_rows(sp: ShopPrivacy) -> list[Any]:
    with sp.store.begin(write=False) as conn:
        return list(conn.execute(select(renewal_attempts)).all())


def billing_keys(router: Router) -> list[str]:
    return [c[1]["input"]["idempotencyKey"] for c in router.calls if c[0] == "SubscriptionBillingAttemptCreate"]


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
def test_html_200_then_success_bills_once_with_one_key(sp: ShopPrivacy, fake_time: FakeTime) -> None:
    router = (Router().on("DueSubscriptionContracts", page([contract(1)]))
              .on("SubscriptionBillingAttemptCreate", HTML, attempt(SUCCESS)))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    report = renewals_of(sp, sleep=fake_time.sleep).run(until=UNTIL)
    assert (report.billed, report.failed, report.errors, report.in_doubt) == (1, 0, 0, 0)
    keys = billing_keys(router)
    assert len(keys) == 2 and keys[0] == keys[1]  # asked again with the same key: Shopify bills once
    (row,) = attempt_rows(sp)
    assert (row.status, row.order_id) == ("billed", "gid://shopify/Order/77")


@responses.activate
def test_always_malformed_answer_is_left_open_then_settled_with_the_same_key(sp: ShopPrivacy,
                                                                             fake_time: FakeTime) -> None:
    router = (Router().on("DueSubscriptionContracts", page([contract(1), contract(2)]))
              .on("SubscriptionBillingAttemptCreate", CUT_OFF))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    renewals = renewals_of(sp, sleep=fake_time.sleep)
    report = renewals.run(until=UNTIL)
    assert (report.in_doubt, report.failed, report.errors, report.billed) == (2, 0, 0, 0)
    first = billing_keys(router)
    # 3 calls for the first, then 1 for the second; the client retries each malformed answer itself (same key)
    per_call = len(first) // 4
    assert len(first) == 4 * per_call and len(set(first[:3 * per_call])) == 1 and len(set(first)) == 2
    rows = attempt_rows(sp)
    assert {r.status for r in rows} == {"claimed"} and {r.error_code for r in rows} == {"unknown:ShopifyResponseError"}
    assert sp.audit.entries(action="renewal.run")[-1].meta["in_doubt"] == 2

    router.queues["SubscriptionBillingAttemptCreate"] = [attempt(SUCCESS)]  # Shopify answers again
    again = renewals.run(until=UNTIL)
    assert (again.billed, again.already_done, again.in_doubt) == (2, 2, 0)
    assert sorted(billing_keys(router)[len(first):]) == sorted(set(first))
    assert {r.status for r in attempt_rows(sp)} == {"billed"}


@responses.activate
def test_5xx_on_billing_is_outcome_unknown_not_failed(sp: ShopPrivacy, fake_time: FakeTime) -> None:
    router = (Router().on("DueSubscriptionContracts", page([contract(1)]))
              .on("SubscriptionBillingAttemptCreate", (503, {"Retry-After": "1"}, "")))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    report = renewals_of(sp, sleep=fake_time.sleep).run(until=UNTIL)
    assert (report.in_doubt, report.errors, report.billed, report.failed) == (1, 0, 0, 0)
    assert [r.status for r in attempt_rows(sp)] == ["claimed"]


@responses.activate
def test_user_errors_settle_the_period_as_failed(sp: ShopPrivacy, fake_time: FakeTime) -> None:
    refused = answer({"subscriptionBillingAttemptCreate": {"subscriptionBillingAttempt": None, "userErrors": [
        {"field": ["subscriptionContractId"], "message": "Contract not active", "code": "CONTRACT_NOT_ACTIVE"}]}})
    router = (Router().on("DueSubscriptionContracts", page([contract(1)]))
              .on("SubscriptionBillingAttemptCreate", refused))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    renewals = renewals_of(sp, sleep=fake_time.sleep)
    report = renewals.run(until=UNTIL)
    assert (report.errors, report.in_doubt) == (1, 0) and len(billing_keys(router)) == 1
    assert [(r.status, r.error_code) for r in attempt_rows(sp)] == [("failed", "ShopifyUserError")]
    assert renewals.run(until=UNTIL).already_done == 1 and len(billing_keys(router)) == 1


@responses.activate
def test_a_refused_access_token_leaves_the_period_open_and_ends_the_run(sp: ShopPrivacy, fake_time: FakeTime) -> None:
    """401/403 on billing: nothing was billed and every later call would be refused alike. The period stays open
    (billed once the token is fixed, with the same key) and the run ends with the error instead of marking every
    due period failed."""
    router = (Router().on("DueSubscriptionContracts", page([contract(1), contract(2)]))
              .on("SubscriptionBillingAttemptCreate", (401, {}, "")))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    renewals = renewals_of(sp, sleep=fake_time.sleep)
    with pytest.raises(PlatformAuthError):
        renewals.run(until=UNTIL)
    refused = billing_keys(router)
    assert len(refused) == 1  # the second subscription was not tried with the refused token
    assert {r.status for r in attempt_rows(sp)} == {"claimed"}
    assert {r.error_code for r in attempt_rows(sp)} == {"auth:ShopifyAuthError"}
    assert sp.audit.entries(action="renewal.run")[-1].meta["outcome"] == "aborted"

    router.queues["SubscriptionBillingAttemptCreate"] = [attempt(SUCCESS), attempt(SUCCESS)]  # token fixed
    again = renewals.run(until=UNTIL)
    assert again.billed == 2 and {r.status for r in attempt_rows(sp)} == {"billed"}
    assert refused[0] in billing_keys(router)[1:]  # the refused period is billed with its own key
