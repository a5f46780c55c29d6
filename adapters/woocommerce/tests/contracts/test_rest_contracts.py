"""The adapter uses only the routes, parameters and fields listed (with their source) in CONTRACTS.md."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from shopprivacy.platforms import MarketingConsentUpdate
from shopprivacy.renewals import ALLOWED_FIELDS

CONTRACTS = Path(__file__).resolve().parents[2] / "CONTRACTS.md"
pytestmark = pytest.mark.db


def _section(title):
    text = CONTRACTS.read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _rows(title):
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in _section(title).splitlines() if line.startswith("| `")]


def _names(cell):
    return set(re.findall(r"`([^`]+)`", cell))


def listed():
    routes = {row[0].strip("`"): _names(row[1]) | {"_fields", "page", "per_page"}
              for row in _rows("Routes and parameters")}
    fields = {}
    for row in _rows("Fields"):
        fields[row[0].strip("`")] = _names(row[1])
    fields["subscriptions"] |= fields["orders"]
    return routes, fields


def _route(method, path):
    path = path.split("/wp-json/", 1)[1].strip("/")
    return f"{method} " + re.sub(r"/\d+(?=/|$)", "/{id}", path)


def used(rsps):
    """(route, parameter names, _fields names, body field names) of every request sent."""
    for call in rsps.calls:
        url = urlsplit(call.request.url)
        query = dict(parse_qsl(url.query))
        fields = {f for f in query.get("_fields", "").split(",") if f}
        body = json.loads(call.request.body) if call.request.body else {}
        yield _route(call.request.method, url.path), set(query), fields, body


def test_contracts_lists_a_source_for_every_row():
    for title in ("Routes and parameters", "Fields", "Webhooks", "Writes that recalculate"):
        for row in _rows(title) if title in ("Routes and parameters", "Fields") else [
                r for r in (line.strip().strip("|").split("|") for line in _section(title).splitlines()
                            if line.startswith("| ") and not line.startswith("| fact") and "---" not in line)]:
            assert row[-1].strip(), row


def test_the_adapter_uses_only_listed_endpoints_parameters_and_fields(sp, shop, rsps, adapter, endpoint):
    from shopprivacy_woocommerce.webhooks import WooWebhooks

    cid = shop.add_customer("jane@example.com")
    shop.add_order(cid)
    shop.add_order(cid, status="failed")
    live = shop.add_subscription(cid, next_payment="2026-11-20T09:00:00")
    ended = shop.add_subscription(cid, status="cancelled")
    webhooks = WooWebhooks(adapter, sp)
    adapter.find_customer(email="jane@example.com")
    adapter.set_marketing_consent(MarketingConsentUpdate(
        customer_id=str(cid), email=None, list_id="news", subscribed=True, opt_in_level="confirmed_opt_in",
        consent_updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc)), idempotency_key="k1")
    assert [p.records for p in adapter.marketing_consent_pages(after=None, lists=["news"])] == [[]]
    due = list(adapter.iter_due_subscriptions(due_before=datetime(2026, 12, 1, tzinfo=timezone.utc),
                                              fields=ALLOWED_FIELDS))
    assert due
    for step in adapter.plan_renewal_upkeep(due[0]):
        if step.kind == "clean_subscription":
            adapter.apply_renewal_upkeep(step)
    adapter.clean_renewal_order(str(next(iter(shop.orders))))
    adapter.export_customer(str(cid))
    webhooks.live_subscription_ids(str(cid))
    webhooks._owner_of(str(ended))
    list(adapter.doctor())
    adapter.rectify_customer(str(cid), {"email": "jane.doe@example.net", "first_name": "Jane", "last_name": "Doe",
                                        "phone": "+33612345678", "address": "2 rue Neuve"}, idempotency_key="r1")
    shop.subscriptions[live]["status"] = "cancelled"
    adapter.erase_customer(str(cid), idempotency_key="e1")
    assert adapter.verify_erasure(str(cid)).erased

    routes, fields = listed()
    seen_routes = set()
    for route, params, wanted, body in used(rsps):
        seen_routes.add(route)
        assert route in routes, f"{route} is not in CONTRACTS.md"
        assert params <= routes[route], f"{route}: {params - routes[route]} not in CONTRACTS.md"
        resource = route.split(" ", 1)[1].removeprefix("wc/v3/").split("/")[0]
        resource = "wc-admin/options" if route.endswith("wc-admin/options") else (
            "settings/account" if "settings/account" in route else resource)
        if resource == "wc-admin/options":
            from shopprivacy_woocommerce.audit import RETENTION_OPTIONS
            assert wanted <= set(RETENTION_OPTIONS)
        elif wanted - {"id"}:
            assert wanted <= fields[resource] | {"id"}, f"{route}: {wanted - fields[resource]} not listed"
        if route == "PUT wc/v3/customers/{id}" and set(body) != {"meta_data"}:
            sent = {f"{k}.{n}" if isinstance(v, dict) else k for k, v in body.items()
                    for n in (v if isinstance(v, dict) else [k])}
            assert sent <= fields["correction"], f"{route} sends {sent - fields['correction']}"
        elif route.startswith("PUT wc/v3/"):
            assert set(body) == {"meta_data"}, f"{route} sends {set(body)}"
            assert all(set(m) <= {"id", "key", "value"} for m in body["meta_data"])
        elif route.startswith("PUT wc-shopprivacy/"):
            assert set(body) <= {"keep_invoice", "delete_meta_ids"}
    assert {"PUT wc-shopprivacy/v1/orders/{id}/anonymize", "DELETE wc/v3/customers/{id}",
            "GET wc/v3/subscriptions", "PUT wc/v3/customers/{id}"} <= seen_routes


@pytest.fixture
def endpoint(sp):
    (route,) = sp.adapter_routes
    return route.handler
