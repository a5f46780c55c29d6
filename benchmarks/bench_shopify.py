"""Shopify adapter: bytes received for a due-subscription scan with our selection vs every contract field
(target <= 30 %); webhook signature verification vs a raw hmac (target <= 2x).

The Admin API is answered in-process by a transport adapter on the session: each answer is the full contract
object projected onto the selection set the query sent, as Shopify would project it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from typing import Any

import requests
from _util import per_call, ratio_line

try:
    from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions
    from shopprivacy_shopify.contracts import contract_selection
except ImportError:  # the adapter is its own distribution
    ShopifyAdapter = None  # type: ignore[assignment,misc]

from shopprivacy.renewals import ALLOWED_FIELDS
from shopprivacy.web.webhooks import verify_base64

N = 2000
DUE = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
ADDRESS = ("name firstName lastName company address1 address2 city province provinceCode country countryCodeV2 zip "
           "phone")
#: Every field a renewal job that does not minimise would read from a contract.
FULL_SELECTION = (
    "id status createdAt updatedAt nextBillingDate currencyCode note lastPaymentStatus "
    "customAttributes { key value } "
    "customer { id firstName lastName displayName defaultEmailAddress { emailAddress marketingState } "
    "defaultPhoneNumber { phoneNumber } } customerPaymentMethod { id revokedAt } "
    "billingPolicy { interval intervalCount minCycles maxCycles } deliveryPolicy { interval intervalCount } "
    "deliveryPrice { amount currencyCode } "
    f"deliveryMethod {{ __typename ... on SubscriptionDeliveryMethodShipping {{ address {{ {ADDRESS} }} "
    "shippingOption { title presentmentTitle } } } originOrder { id name } "
    "lines(first: 10) { nodes { id title variantTitle sku variantId productId quantity requiresShipping taxable "
    "sellingPlanId sellingPlanName currentPrice { amount currencyCode } lineDiscountedPrice { amount currencyCode } "
    "customAttributes { key value } } pageInfo { hasNextPage endCursor } }")


def full_contract(i: int) -> dict[str, Any]:
    money = {"amount": "19.9", "currencyCode": "EUR"}
    return {
        "id": f"gid://shopify/SubscriptionContract/{100000 + i}", "status": "ACTIVE",
        "createdAt": "2025-11-20T09:00:00Z", "updatedAt": "2026-10-20T09:00:00Z",
        "nextBillingDate": "2026-11-20T09:00:00Z", "currencyCode": "EUR", "note": "Leave at the back door, thanks!",
        "lastPaymentStatus": "SUCCEEDED",
        "customAttributes": [{"key": "gift_message", "value": "Happy birthday"}, {"key": "utm_source", "value": "ig"}],
        "customer": {"id": f"gid://shopify/Customer/{700000 + i}", "firstName": "Jane", "lastName": "Doe",
                     "displayName": "Jane Doe",
                     "defaultEmailAddress": {"emailAddress": f"jane{i}@example.com", "marketingState": "SUBSCRIBED"},
                     "defaultPhoneNumber": {"phoneNumber": "+33612345678"}},
        "customerPaymentMethod": {"id": f"gid://shopify/CustomerPaymentMethod/{i:032x}", "revokedAt": None},
        "billingPolicy": {"interval": "MONTH", "intervalCount": 1, "minCycles": None, "maxCycles": None},
        "deliveryPolicy": {"interval": "MONTH", "intervalCount": 1}, "deliveryPrice": {"amount": "4.9",
                                                                                        "currencyCode": "EUR"},
        "deliveryMethod": {"__typename": "SubscriptionDeliveryMethodShipping", "address": {
            "name": "Jane Doe", "firstName": "Jane", "lastName": "Doe", "company": None, "address1": "1 Main St",
            "address2": "Apt 4", "city": "Lyon", "province": None, "provinceCode": None, "country": "France",
            "countryCodeV2": "FR", "zip": "69001", "phone": "+33612345678"},
            "shippingOption": {"title": "Standard", "presentmentTitle": "Standard"}},
        "originOrder": {"id": f"gid://shopify/Order/{500000 + i}", "name": f"#{1000 + i}"},
        "lines": {"nodes": [{"id": f"gid://shopify/SubscriptionLine/{i}-{k}", "title": "Single-origin coffee beans",
                             "variantTitle": "1 kg / whole bean", "sku": f"COF-{k}", "variantId":
                             f"gid://shopify/ProductVariant/{40 + k}", "productId": "gid://shopify/Product/9",
                             "quantity": 1, "requiresShipping": True, "taxable": True,
                             "sellingPlanId": "gid://shopify/SellingPlan/3", "sellingPlanName": "Monthly, 10 % off",
                             "currentPrice": money, "lineDiscountedPrice": money,
                             "customAttributes": [{"key": "grind", "value": "fine"}]} for k in range(2)],
                  "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo0fQ=="}},
    }


_TOKEN = re.compile(r"\.\.\.\s*on\s+\w+|(?:\w+:)?\w+(?:\([^)]*\))?|[{}]")


def parse_selection(text: str) -> dict[str, Any]:
    """A selection set as a tree {(key, field): subtree or None}; ``alias:field`` answers under the alias;
    inline fragments are merged (there is one shipping type)."""
    tokens = _TOKEN.findall(text)
    pos = 0

    def block() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        while pos < len(tokens) and tokens[pos] != "}":
            tok = tokens[pos]
            pos += 1
            if pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                sub = block()
                pos += 1
                if tok.startswith("..."):
                    out.update(sub)
                else:
                    out[_key(tok)] = sub
            else:
                out[_key(tok)] = None
        return out

    return block()


def _key(token: str) -> tuple[str, str]:
    name = token.split("(")[0]
    alias, _, field = name.rpartition(":")
    return (alias or field, field)


def project(value: Any, tree: dict[Any, Any] | None) -> Any:
    if tree is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, tree) for v in value]
    return {key: project(value[field], sub) for (key, field), sub in tree.items() if field in value}


class Shop(requests.adapters.BaseAdapter):
    """Answers the due-scan query with pages of contracts projected onto the query's selection."""

    def __init__(self, contracts: list[dict[str, Any]], page_size: int) -> None:
        super().__init__()
        self.contracts, self.page_size = contracts, page_size

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = json.loads(request.body or b"{}")
        selection = body["query"].split("nodes {", 1)[1].rsplit("} pageInfo", 1)[0]
        start = int(body["variables"].get("after") or 0)
        chunk = self.contracts[start:start + self.page_size]
        end = start + len(chunk)
        tree = parse_selection(selection)
        doc = {"data": {"subscriptionContracts": {
            "nodes": [project(c, tree) for c in chunk],
            "pageInfo": {"hasNextPage": end < len(self.contracts), "endCursor": str(end)}}},
            "extensions": {"cost": {"requestedQueryCost": 400, "actualQueryCost": 120, "throttleStatus": {
                "maximumAvailable": 2000.0, "currentlyAvailable": 2000, "restoreRate": 100.0}}}}
        response = requests.Response()
        response.status_code, response._content = 200, json.dumps(doc, separators=(",", ":")).encode()
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        pass


def scan_bytes(fields: Any, *, full: bool) -> int:
    contracts = [full_contract(i) for i in range(N)]
    options = ShopifyOptions.from_mapping({"shop": "bench", "access_token": "shpat_benchmark",
                                           "client_secret": "shpss_benchmark"})
    session = requests.Session()
    session.mount("https://", Shop(contracts, options.page_size))
    adapter = ShopifyAdapter(options, session=session, sleep=lambda s: None)
    if full:  # the same scan, asking for every contract field
        import shopprivacy_shopify.subscriptions as subs

        original = subs.due_query
        subs.due_query = lambda f: original(f).replace(contract_selection(f), FULL_SELECTION)  # type: ignore[assignment]
        try:
            count = sum(1 for _ in adapter.iter_due_subscriptions(due_before=DUE, fields=fields))
        finally:
            subs.due_query = original
    else:
        count = sum(1 for _ in adapter.iter_due_subscriptions(due_before=DUE, fields=fields))
    assert count == N
    return adapter.bytes_received


def main() -> None:
    if ShopifyAdapter is None:
        print("shopify: skipped (pip install -e adapters/shopify)")
        return
    ours, full = scan_bytes(ALLOWED_FIELDS, full=False), scan_bytes(ALLOWED_FIELDS, full=True)
    print(ratio_line(f"due scan bytes, {N} contracts, renewal allow-list vs every contract field", ours, full,
                     unit="B", target="<= 0.30x"))
    lean = scan_bytes(ALLOWED_FIELDS - {"email", "shipping_address"}, full=False)
    print(ratio_line("due scan bytes without receipt e-mail and address vs every field", lean, full, unit="B",
                     target="<= 0.30x"))

    secret = b"shpss_0123456789abcdef0123456789ab"
    body = json.dumps({"shop_id": 954889, "shop_domain": "s.myshopify.com", "customer": {
        "id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": list(range(299938, 299968))}).encode()
    signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()

    def raw() -> None:
        expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        hmac.compare_digest(expected, signature)

    ours_t = per_call(lambda: verify_base64(secret, body, signature), number=20000)
    base_t = per_call(raw, number=20000)
    print(ratio_line("webhook signature verification vs raw hmac", ours_t, base_t, target="<= 2x"))


if __name__ == "__main__":
    main()
