"""An in-memory WooCommerce for tests, served through ``responses`` (``pip install responses``).

It answers the REST routes the adapter uses with WooCommerce's shapes: ``_fields`` filtering (nested objects,
not lists), ``page``/``per_page`` with ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``, WordPress error JSON,
Basic-auth checks, meta updates with WooCommerce's null-deletes semantics, and customers without trash.

It also does what WooCommerce does on writes (CONTRACTS.md cites the source): a PUT of an order or a
subscription carrying ``billing``, ``shipping`` or line items recalculates taxes and totals from the new
address (``calculate_totals(true)``), a PUT carrying subscription dates moves them (``update_dates``), and the
companion plugin's ``wc-shopprivacy/v1/{orders,subscriptions}/{id}/anonymize`` route runs WooCommerce's eraser
(``companion=False`` plays a shop without the plugin).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from requests import PreparedRequest

Reply = tuple[int, dict[str, str], str]

INTERNAL_META = {"_customer_ip_address": "customer_ip_address", "_customer_user_agent": "customer_user_agent"}
#: Request keys after which WC_REST_Orders_Controller::save_object runs calculate_totals(true).
RECALCULATING = ("billing", "shipping", "line_items", "shipping_lines", "fee_lines", "coupon_lines")
#: WooCommerce Subscriptions' date properties (WC_REST_Subscriptions_Controller::prepare_object_for_database).
DATE_KEYS = ("start_date", "trial_end_date", "next_payment_date", "cancelled_date", "end_date")
LIVE = ("pending", "active", "on-hold", "pending-cancel")
#: A tax table: 20 % where the taxable address is in FR, nothing elsewhere (or with no address).
TAX_RATES = {"FR": 0.20}
_ERASED = {"customer_ip_address": "ip", "customer_user_agent": "text", "billing.first_name": "text",
           "billing.last_name": "text", "billing.company": "text", "billing.address_1": "text",
           "billing.address_2": "text", "billing.city": "text", "billing.postcode": "text",
           "billing.state": "address_state", "billing.country": "address_country", "billing.phone": "phone",
           "billing.email": "email", "shipping.first_name": "text", "shipping.last_name": "text",
           "shipping.company": "text", "shipping.address_1": "text", "shipping.address_2": "text",
           "shipping.city": "text", "shipping.postcode": "text", "shipping.state": "address_state",
           "shipping.country": "address_country", "shipping.phone": "phone", "customer_id": "numeric_id",
           "transaction_id": "numeric_id"}
_INVOICE = {"billing.first_name", "billing.last_name", "billing.company", "billing.address_1", "billing.address_2",
            "billing.city", "billing.postcode", "billing.state", "billing.country", "transaction_id"}


def anonymize_data(kind: str, value: Any) -> Any:
    """``wp_privacy_anonymize_data`` with WooCommerce's custom types (``WC_Privacy::anonymize_custom_data_types``)."""
    if kind == "email":
        return "deleted@site.invalid"
    if kind == "ip":
        return ".".join([*str(value).split(".")[:3], "0"]) if "." in str(value) else "::"
    if kind in ("address_state", "address_country"):
        return ""
    if kind == "phone":
        return re.sub(r"\d", "0", str(value))
    if kind == "numeric_id":
        return 0
    return "[deleted]"


def wp_error(status: int, code: str, message: str) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(
        {"code": code, "message": message, "data": {"status": status}})


def filter_fields(obj: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """WordPress's ``rest_filter_response_fields``: top-level keys and dotted paths into nested objects."""
    out: dict[str, Any] = {}
    for field in fields:
        parts = field.split(".")
        src: Any = obj
        dst = out
        for i, part in enumerate(parts):
            if not isinstance(src, Mapping) or part not in src:
                break
            if i == len(parts) - 1:
                dst[part] = copy.deepcopy(src[part])
            else:
                dst = dst.setdefault(part, {})
                src = src[part]
    return out


class FakeWooCommerce:
    """A shop at ``site``. Add objects with ``add_*``; ``install(rsps)`` registers the routes."""

    def __init__(self, site: str = "https://shop.example", *, key: str = "ck_test_key_123",
                 secret: str = "cs_test_secret_456") -> None:  # noqa: S107 - a test fixture
        self.site = site.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.customers: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.subscriptions: dict[int, dict[str, Any]] | None = {}
        self.account_settings: list[dict[str, Any]] = []
        self.options: dict[str, Any] | None = {}
        self.companion = True
        self.puts: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(100)
        self._meta_ids = itertools.count(5000)

    # -- objects ---------------------------------------------------------------------------------------
    def meta(self, key: str, value: Any) -> dict[str, Any]:
        return {"id": next(self._meta_ids), "key": key, "value": value}

    def add_customer(self, email: str, **extra: Any) -> int:
        cid = next(self._ids)
        self.customers[cid] = {"id": cid, "email": email, "first_name": "Jane", "last_name": "Doe",
                               "role": "customer", "username": email.split("@")[0],
                               "date_created_gmt": "2025-01-02T10:00:00",
                               "billing": {"first_name": "Jane", "last_name": "Doe", "email": email,
                                           "phone": "+33612345678", "address_1": "1 rue de la Paix",
                                           "city": "Lyon", "postcode": "69001", "country": "FR"},
                               "shipping": {"first_name": "Jane", "last_name": "Doe", "address_1": "1 rue de la Paix",
                                            "city": "Lyon", "postcode": "69001", "country": "FR"},
                               "is_paying_customer": True, "meta_data": [], **extra}
        return cid

    def _order_like(self, oid: int, customer_id: int, **extra: Any) -> dict[str, Any]:
        email = self.customers.get(customer_id, {}).get("email", "guest@example.com")
        return {
            "id": oid, "number": str(oid), "status": "processing", "currency": "EUR", "total": "19.90",
            "total_tax": "3.32", "customer_id": customer_id, "date_created_gmt": "2026-10-24T09:00:00",
            "date_paid_gmt": "2026-10-24T09:00:05", "payment_method": "stripe",
            "payment_method_title": "Credit card (Stripe)", "customer_note": "leave at the door",
            "customer_ip_address": "203.0.113.9",
            "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "billing": {"first_name": "Jane", "last_name": "Doe", "company": "", "address_1": "1 rue de la Paix",
                        "address_2": "", "city": "Lyon", "state": "", "postcode": "69001", "country": "FR",
                        "email": email, "phone": "+33612345678"},
            "shipping": {"first_name": "Jane", "last_name": "Doe", "company": "", "address_1": "1 rue de la Paix",
                         "address_2": "", "city": "Lyon", "state": "", "postcode": "69001", "country": "FR",
                         "phone": ""},
            "line_items": [{"id": oid * 10, "name": "Coffee beans 1kg", "product_id": 71, "variation_id": 0,
                            "quantity": 1, "tax_class": "", "subtotal": "16.58", "subtotal_tax": "3.32",
                            "total": "16.58", "total_tax": "3.32", "sku": "COF-1KG", "price": 16.58,
                            "taxes": [{"id": 1, "total": "3.32", "subtotal": "3.32"}],
                            "meta_data": [{"id": 1, "key": "grind", "value": "fine", "display_key": "Grind",
                                           "display_value": "fine"}],
                            "image": {"id": 12, "src": f"{self.site}/wp-content/uploads/coffee.jpg"}}],
            "shipping_lines": [{"id": oid * 10 + 1, "method_title": "Flat rate", "method_id": "flat_rate",
                                "total": "0.00", "total_tax": "0.00", "taxes": []}],
            "meta_data": [self.meta("_wc_order_attribution_source_type", "utm"),
                          self.meta("_wc_order_attribution_utm_source", "newsletter"),
                          self.meta("_wc_order_attribution_user_agent", "Mozilla/5.0 (X11; Linux x86_64)"),
                          self.meta("_wc_order_attribution_session_pages", "4"),
                          self.meta("is_vat_exempt", "no")],
            # the rest of WooCommerce's order shape
            "parent_id": 0, "version": "9.4.2", "prices_include_tax": True, "created_via": "checkout",
            "order_key": f"wc_order_{oid:013d}", "cart_hash": "4f1c6e2b9d0a8e7f3c5b1a2d6e9f0c8b",
            "date_created": "2026-10-24T11:00:00", "date_modified": "2026-10-24T11:00:05",
            "date_modified_gmt": "2026-10-24T09:00:05", "date_completed": None, "date_completed_gmt": None,
            "date_paid": "2026-10-24T11:00:05", "discount_total": "0.00", "discount_tax": "0.00",
            "shipping_total": "0.00", "shipping_tax": "0.00", "cart_tax": "3.32", "transaction_id": "ch_3Pq2Rs3Tu4",
            "tax_lines": [{"id": oid * 10 + 2, "rate_code": "FR-TVA-1", "rate_id": 1, "label": "TVA",
                           "compound": False, "tax_total": "3.32", "shipping_tax_total": "0.00",
                           "rate_percent": 20, "meta_data": []}],
            "fee_lines": [], "coupon_lines": [], "refunds": [], "currency_symbol": "€",
            "payment_url": f"{self.site}/checkout/order-pay/{oid}/?pay_for_order=true&key=wc_order_{oid:013d}",
            "is_editable": False, "needs_payment": False, "needs_processing": True,
            "_links": {"self": [{"href": f"{self.site}/wp-json/wc/v3/orders/{oid}"}],
                       "collection": [{"href": f"{self.site}/wp-json/wc/v3/orders"}],
                       "customer": [{"href": f"{self.site}/wp-json/wc/v3/customers/{customer_id}"}]},
            **extra,
        }

    def add_order(self, customer_id: int, **extra: Any) -> int:
        oid = next(self._ids)
        self.orders[oid] = self._order_like(oid, customer_id, **extra)
        return oid

    def add_subscription(self, customer_id: int, *, next_payment: str = "2026-11-24T09:00:00",
                         status: str = "active", **extra: Any) -> int:
        assert self.subscriptions is not None
        sid = next(self._ids)
        sub = self._order_like(sid, customer_id, status=status, billing_period="month", billing_interval=1,
                               start_date_gmt="2026-01-24T09:00:00", trial_end_date_gmt="",
                               next_payment_date_gmt=next_payment, end_date_gmt="", cancelled_date_gmt="",
                               resubscribed_from="", resubscribed_subscription="", removed_line_items=[])
        sub["meta_data"] += [self.meta("_stripe_customer_id", "cus_Q1w2E3r4T5y6"),
                             self.meta("_stripe_source_id", "pm_1Pq2Rs3Tu4Vw5Xy6")]
        sub.update(extra)
        self.subscriptions[sid] = sub
        return sid

    # -- routing ---------------------------------------------------------------------------------------
    def install(self, rsps: Any) -> None:
        """Register on a ``responses.RequestsMock`` (or the ``responses`` module)."""
        pattern = re.compile(re.escape(self.site) + r"/wp-json/.*")
        for method in ("GET", "PUT", "DELETE", "POST"):
            rsps.add_callback(method, pattern, callback=self.handle)

    def handle(self, request: PreparedRequest) -> Reply:
        url = urlsplit(str(request.url))
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path.split("/wp-json/", 1)[1].strip("/")
        method = str(request.method)
        self.calls.append((method, path))
        if request.headers.get("Authorization") != self.auth:
            return wp_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        body = json.loads(request.body) if request.body else {}
        fields = [f for f in query.get("_fields", "").split(",") if f]
        if path == "wc-admin/options":
            if self.options is None:
                return wp_error(403, "woocommerce_rest_cannot_view", "Sorry, you cannot view these options.")
            names = query.get("options", "").split(",")
            data: Any = {n: self.options.get(n, False) for n in names}
            return 200, {}, json.dumps(filter_fields(data, fields) if fields else data)
        if path.startswith("wc-shopprivacy/v1/") and self.companion and method == "PUT":
            return self._companion(path[len("wc-shopprivacy/v1/"):].split("/"), body)
        if not path.startswith("wc/v3/"):
            return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")
        parts = path[len("wc/v3/"):].split("/")
        if parts == ["settings", "account"]:
            return 200, {}, json.dumps([filter_fields(s, fields) for s in self.account_settings])
        stores = {"customers": self.customers, "orders": self.orders, "subscriptions": self.subscriptions}
        if parts[0] not in stores or len(parts) > 2:
            return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")
        store = stores[parts[0]]
        if store is None:
            return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if len(parts) == 1:
            return self._list(parts[0], store, query, fields) if method == "GET" else wp_error(
                405, "rest_no_route", "No route")
        if not parts[1].isdigit() or int(parts[1]) not in store:
            return wp_error(404, "woocommerce_rest_invalid_id", "Invalid ID.")
        obj = store[int(parts[1])]
        if method == "DELETE":
            if parts[0] == "customers" and query.get("force") != "true":
                return wp_error(501, "woocommerce_rest_trash_not_supported", "Customers do not support trashing.")
            del store[int(parts[1])]
        elif method == "PUT":
            if parts[0] == "customers" and body.get("email") and body["email"] != obj.get("email") and any(
                    c.get("email") == body["email"] for c in self.customers.values()):
                return wp_error(400, "woocommerce_rest_customer_invalid_email", "Email address is invalid.")
            self.puts.append((f"{parts[0]}/{parts[1]}", body))
            self._update(obj, body)
        return 200, {}, json.dumps(filter_fields(obj, fields) if fields else obj)

    def _list(self, kind: str, store: dict[int, dict[str, Any]], query: Mapping[str, str],
              fields: list[str]) -> Reply:
        per_page, page = int(query.get("per_page", "10")), int(query.get("page", "1"))
        if not 1 <= per_page <= 100:
            return wp_error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        items = sorted(store.values(), key=lambda o: o["id"])
        if "status" in query and query["status"] != "any":
            wanted = set(query["status"].split(","))
            items = [o for o in items if o.get("status") in wanted]
        if "customer" in query:
            items = [o for o in items if str(o.get("customer_id")) == query["customer"]]
        if "email" in query:
            items = [o for o in items if o.get("email") == query["email"]]
        if kind == "customers" and query.get("role", "customer") != "all":
            items = [o for o in items if o.get("role") == query.get("role", "customer")]
        total, pages = len(items), max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        base = f"{self.site}/wp-json/wc/v3/{kind}"
        links = []
        if page > 1:
            links.append(f'<{base}?{urlencode({**query, "page": page - 1})}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return 200, headers, json.dumps([filter_fields(o, fields) if fields else o for o in chunk])

    def _update(self, obj: dict[str, Any], body: Mapping[str, Any]) -> None:
        for name in ("billing", "shipping"):
            if isinstance(body.get(name), Mapping):
                obj.setdefault(name, {}).update(body[name])
        if any(name in body for name in RECALCULATING):
            self.calculate_totals(obj)
        dates = {k: body[k] for k in DATE_KEYS if k in body}
        if dates and "billing_period" in obj:  # a subscription: update_dates()
            obj.update({f"{k}_gmt": v for k, v in dates.items()})
        for name in ("customer_note", "status"):
            if name in body:
                obj[name] = body[name]
        if "role" in obj:  # a customer: WC_REST_Customers_V1_Controller::update_item / update_customer_meta_fields
            obj.update({name: body[name] for name in ("email", "first_name", "last_name") if name in body})
        for meta in body.get("meta_data") or ():
            key, value, mid = meta.get("key"), meta.get("value"), meta.get("id")
            if key in INTERNAL_META:  # WC_Data::update_meta_data routes internal keys to the setters
                obj[INTERNAL_META[key]] = value or ""
                continue
            entries = obj.setdefault("meta_data", [])
            match = [m for m in entries if (m["id"] == mid if mid else m["key"] == key)]
            if value is None:
                obj["meta_data"] = [m for m in entries if m not in match]
            elif match:
                match[0]["value"] = value
            else:
                entries.append(self.meta(key, value))

    @staticmethod
    def calculate_totals(obj: dict[str, Any]) -> None:
        """``WC_Abstract_Order::calculate_totals(true)``: taxes from the taxable address, then the total."""
        address = obj.get("shipping") if (obj.get("shipping") or {}).get("country") else obj.get("billing")
        rate = TAX_RATES.get(str((address or {}).get("country") or ""), 0.0)
        lines = sum(float(item.get("total") or 0) for item in obj.get("line_items") or ())
        shipping = sum(float(item.get("total") or 0) for item in obj.get("shipping_lines") or ())
        tax = round(lines * rate, 2)
        obj.update(total_tax=f"{tax:.2f}", cart_tax=f"{tax:.2f}", total=f"{lines + shipping + tax:.2f}")

    def _companion(self, parts: list[str], body: Mapping[str, Any]) -> Reply:
        """The companion plugin: WooCommerce's eraser on one order or ended subscription, totals untouched."""
        stores = {"orders": self.orders, "subscriptions": self.subscriptions}
        if len(parts) != 3 or parts[0] not in stores or parts[2] != "anonymize" or stores[parts[0]] is None:
            return wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")
        store = stores[parts[0]]
        assert store is not None
        obj = store.get(int(parts[1])) if parts[1].isdigit() else None
        if obj is None:
            return wp_error(404, "woocommerce_rest_invalid_id", "Invalid ID.")
        if parts[0] == "subscriptions" and obj.get("status") in LIVE:
            return wp_error(409, "shopprivacy_subscription_live", "A live subscription is not anonymised.")
        self.puts.append((f"companion:{parts[0]}/{parts[1]}", dict(body)))
        before = (obj["total"], obj["total_tax"])
        doomed = set(body.get("delete_meta_ids") or ())
        obj["meta_data"] = [m for m in obj.get("meta_data", []) if m["id"] not in doomed]
        keep = bool(body.get("keep_invoice")) and parts[0] == "orders"
        for prop, kind in _ERASED.items():
            if keep and prop in _INVOICE:
                continue
            holder, _, name = prop.rpartition(".")
            target = obj.get(holder) if holder else obj
            if isinstance(target, dict) and target.get(name):
                target[name] = anonymize_data(kind, target[name])
        obj["meta_data"].append(self.meta("_anonymized", "yes"))
        obj["customer_note"] = ""
        return 200, {}, json.dumps({"id": obj["id"], "anonymized": True, "kept_invoice": keep,
                                    "totals_unchanged": before == (obj["total"], obj["total_tax"])})


__all__ = ["FakeWooCommerce", "anonymize_data", "filter_fields", "wp_error"]
