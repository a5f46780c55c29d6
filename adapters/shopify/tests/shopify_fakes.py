"""Answers shaped like Shopify's, a fake clock, and a router for ``responses`` keyed by operation name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import requests

SHOP = "example-shop.myshopify.com"
ENDPOINT = f"https://{SHOP}/admin/api/2026-10/graphql.json"
SECRET = "shpss_0123456789abcdef"
OPTIONS = {"shop": SHOP, "access_token": "shpat_0123456789abcdef", "client_secret": SECRET}


class FakeTime:
    """A monotonic clock that only moves when code sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def cost(requested: float = 12, actual: float | None = None, available: float = 1990, maximum: float = 2000,
         rate: float = 100) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested if actual is None else actual,
                     "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available,
                                        "restoreRate": rate}}}


def answer(data: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"data": data, "extensions": cost(**kw)}


def throttled(requested: float = 200, available: float = 40) -> dict[str, Any]:
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                                                              "documentation": "https://shopify.dev/api/usage/limits"}}],
            "extensions": cost(requested=requested, actual=0, available=available)}


def operation_of(request: requests.PreparedRequest) -> str:
    body = json.loads(request.body or b"{}")
    match = re.match(r"\s*(?:query|mutation)\s+(\w+)", body["query"])
    return match.group(1) if match else "anonymous"


def variables_of(request: requests.PreparedRequest) -> dict[str, Any]:
    return dict(json.loads(request.body or b"{}").get("variables") or {})


class Router:
    """A ``responses`` callback: per operation a queue of answers (dicts, or (status, headers, body)); the
    last answer repeats. ``calls`` records (operation, variables, query)."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Any]] = {}
        self.calls: list[tuple[str, dict[str, Any], str]] = []

    def on(self, operation: str, *answers: Any) -> Router:
        self.queues.setdefault(operation, []).extend(answers)
        return self

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        op = operation_of(request)
        self.calls.append((op, variables_of(request), json.loads(request.body or b"{}")["query"]))
        queue = self.queues.get(op)
        if not queue:
            return 200, {}, json.dumps({"errors": [{"message": f"no fake for {op}"}]})
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, tuple):
            status, headers, body = item
            return status, headers, body if isinstance(body, str) else json.dumps(body)
        if callable(item):
            fn: Callable[[dict[str, Any]], dict[str, Any]] = item
            item = fn(variables_of(request))
        if op == "DueSubscriptionContracts":
            item = with_aliases(item, self.calls[-1][2])
        return 200, {}, json.dumps(item)

    def ops(self) -> list[str]:
        return [c[0] for c in self.calls]


def with_aliases(doc: dict[str, Any], query: str) -> dict[str, Any]:
    """A due-scan answer with each contract's keys renamed by the query's ``alias:field`` pairs, as
    Shopify answers an aliased selection."""
    names = {name: alias for alias, name in re.findall(r"(\w+):(\w+)", query)}

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {names.get(k, k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    conn = (doc.get("data") or {}).get("subscriptionContracts")
    if not isinstance(conn, dict):
        return doc
    return {**doc, "data": {"subscriptionContracts": {**conn, "nodes": rename(conn["nodes"])}}}


def contract(n: int, *, next_billing: str = "2026-11-20T09:00:00Z", status: str = "ACTIVE", lines: int = 1,
             more_lines: bool = False, email: str | None = None) -> dict[str, Any]:
    """One contract node as Shopify returns it for the full renewal selection."""
    node: dict[str, Any] = {
        "id": f"gid://shopify/SubscriptionContract/{n}", "status": status, "nextBillingDate": next_billing,
        "currencyCode": "EUR", "customer": {"id": f"gid://shopify/Customer/{700 + n}"},
        "customerPaymentMethod": {"id": f"gid://shopify/CustomerPaymentMethod/pm{n}"},
        "billingPolicy": {"interval": "MONTH", "intervalCount": 1}, "deliveryPrice": {"amount": "4.9"},
        "deliveryMethod": {"__typename": "SubscriptionDeliveryMethodShipping", "address": {
            "name": "Jane Doe", "address1": "1 Main St", "address2": None, "city": "Lyon", "provinceCode": None,
            "countryCodeV2": "FR", "zip": "69001"}},
        "lines": {"nodes": [{"variantId": f"gid://shopify/ProductVariant/{40 + i}", "quantity": 1,
                             "currentPrice": {"amount": "19.9"}, "requiresShipping": True,
                             "lineDiscountedPrice": {"amount": "19.9"}} for i in range(lines)],
                  "pageInfo": {"hasNextPage": more_lines, "endCursor": "L1" if more_lines else None}},
    }
    if email is not None:
        node["customer"]["defaultEmailAddress"] = {"emailAddress": email}
    return node


def page(nodes: list[dict[str, Any]], *, next_cursor: str | None = None, **kw: Any) -> dict[str, Any]:
    return answer({"subscriptionContracts": {"nodes": nodes, "pageInfo": {"hasNextPage": next_cursor is not None,
                                                                          "endCursor": next_cursor}}}, **kw)


def attempt(state: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return answer({"subscriptionBillingAttemptCreate": {
        "subscriptionBillingAttempt": {"id": f"gid://shopify/SubscriptionBillingAttempt/{n}", "state": state},
        "userErrors": []}}, requested=10)
