"""Bulk due scans: run, poll, download JSONL, link children by __parentId."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st
from shopify_fakes import ENDPOINT, FakeTime, Router, answer, page
from shopprivacy_shopify import ShopifyAdapter, ShopifyBulkError, ShopifyOptions
from shopprivacy_shopify.bulk import link_children, reverse_lines

from shopprivacy.renewals import ALLOWED_FIELDS

DUE = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
URL = "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-result.jsonl?X-Goog-Signature=abc"
OP = "gid://shopify/BulkOperation/720918"


def contract_line(n: int, when: str = "2026-11-20T09:00:00Z") -> dict[str, object]:
    return {"id": f"gid://shopify/SubscriptionContract/{n}", "status": "ACTIVE", "nextBillingDate": when,
            "currencyCode": "EUR", "customer": {"id": f"gid://shopify/Customer/{n}"},
            "customerPaymentMethod": {"id": f"gid://shopify/CustomerPaymentMethod/{n}"},
            "billingPolicy": {"interval": "WEEK", "intervalCount": 2}, "deliveryPrice": {"amount": "0.0"},
            "deliveryMethod": None}


def line_of(n: int, variant: int) -> dict[str, object]:
    return {"variantId": f"gid://shopify/ProductVariant/{variant}", "quantity": 1, "currentPrice": {"amount": "9.5"},
            "requiresShipping": False, "lineDiscountedPrice": {"amount": "9.5"},
            "__parentId": f"gid://shopify/SubscriptionContract/{n}"}


def jsonl(*objs: dict[str, object]) -> str:
    return "\n".join(json.dumps(o) for o in objs) + "\n"


def run_answers(router: Router, *statuses: str, url: str | None = URL) -> None:
    router.on("BulkDueScan", answer({"bulkOperationRunQuery": {
        "bulkOperation": {"id": OP, "status": "CREATED"}, "userErrors": []}}, requested=10))
    for status in statuses:
        router.on("BulkOperationStatus", answer({"node": {
            "id": OP, "status": status, "errorCode": "ACCESS_DENIED" if status == "FAILED" else None,
            "objectCount": "5", "url": url if status == "COMPLETED" else None}}, requested=1))


@responses.activate
def test_bulk_scan_links_non_adjacent_children(adapter: ShopifyAdapter, fake_time: FakeTime) -> None:
    router = Router()
    run_answers(router, "CREATED", "RUNNING", "COMPLETED")
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    # children come after their parent, but not right after it (contract 2 starts before 1's last line)
    body = jsonl(contract_line(1), line_of(1, 11), contract_line(2, "2027-01-01T00:00:00Z"), line_of(2, 21),
                 line_of(1, 12), contract_line(3))
    responses.add(responses.GET, URL, body=body)
    due = list(adapter.iter_due_subscriptions_bulk(due_before=DUE, fields=ALLOWED_FIELDS))
    by_id = {d["subscription_id"]: d for d in due}
    assert set(by_id) == {"gid://shopify/SubscriptionContract/1", "gid://shopify/SubscriptionContract/3"}
    one = by_id["gid://shopify/SubscriptionContract/1"]
    assert [ln["variant_id"] for ln in one["lines"]] == ["gid://shopify/ProductVariant/11",
                                                         "gid://shopify/ProductVariant/12"]
    assert one["amount"] == "19.0" and one["interval"] == {"unit": "week", "count": 2}
    assert one["shipping_address"] is None
    assert by_id["gid://shopify/SubscriptionContract/3"]["lines"] == []
    query = router.calls[0][1]["query"]
    assert "edges { node {" in query and "lines { edges { node {" in query and "first:" not in query
    assert fake_time.sleeps == [2.0, 3.0]  # polls back off
    assert "X-Shopify-Access-Token" not in responses.calls[-1].request.headers


@responses.activate
def test_bulk_failure_raises(adapter: ShopifyAdapter) -> None:
    router = Router()
    run_answers(router, "FAILED")
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    with pytest.raises(ShopifyBulkError) as info:
        list(adapter.iter_due_subscriptions_bulk(due_before=DUE, fields={"subscription_id"}))
    assert info.value.error_code == "ACCESS_DENIED" and not info.value.retryable


@responses.activate
def test_bulk_with_no_results_has_no_url(adapter: ShopifyAdapter) -> None:
    router = Router()
    run_answers(router, "COMPLETED", url=None)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    assert list(adapter.iter_due_subscriptions_bulk(due_before=DUE, fields={"subscription_id"})) == []


@responses.activate
def test_scan_switches_to_bulk_past_the_threshold(options: ShopifyOptions, fake_time: FakeTime) -> None:
    from shopify_fakes import contract

    opts = options.model_copy(update={"bulk_threshold": 2, "page_size": 2})
    adapter = ShopifyAdapter(opts, sleep=fake_time.sleep, clock=fake_time.clock)
    router = Router().on("DueSubscriptionContracts", page([contract(1), contract(2)], next_cursor="c1"))
    run_answers(router, "COMPLETED")
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    responses.add(responses.GET, URL, body=jsonl(contract_line(3), line_of(3, 31)))
    due = list(adapter.iter_due_subscriptions(due_before=DUE, fields={"subscription_id", "lines"}))
    assert [d["subscription_id"][-1] for d in due] == ["1", "2", "3"]
    bulk_query = [c for c in router.calls if c[0] == "BulkDueScan"][0][1]["query"]
    assert 'query: "status:ACTIVE id:>2"' in bulk_query
    assert router.ops().count("DueSubscriptionContracts") == 1


@given(st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=30), st.integers(1, 17))
def test_reverse_lines_matches_forward_reading(lines: list[bytes], chunk: int) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    expected = [ln for ln in data.split(b"\n") if ln.strip()]
    assert list(reverse_lines(io.BytesIO(data), chunk=chunk)) == expected[::-1]


@given(st.permutations(list(range(6))))
def test_children_always_reach_their_parent(order: list[int]) -> None:
    # parents 0..2 in order, each child placed after its parent (as Shopify guarantees), else shuffled
    parents = [{"id": f"p{i}"} for i in range(3)]
    children = [{"id": f"c{i}", "__parentId": f"p{i % 3}"} for i in order]
    rows: list[dict[str, object]] = [*parents]
    for child in children:
        rows.append(child)
    data = jsonl(*rows).encode()
    linked = {p["id"]: [c["id"] for c in kids] for p, kids in link_children(reverse_lines(io.BytesIO(data)))}
    assert linked == {f"p{i}": [f"c{j}" for j in order if j % 3 == i] for i in range(3)}
