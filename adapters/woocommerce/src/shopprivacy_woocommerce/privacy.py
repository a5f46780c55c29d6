"""Export and erasure of a customer over the REST API (:class:`PersonalDataHost`).

WordPress's own exporters and erasers are admin-side PHP with no REST endpoint, so the adapter works on the
REST resources: the customer, their orders and their subscriptions. Erasure keeps what tax law requires —
the totals, lines and taxes of every order, and the buyer's name and address on paid orders younger than
``tax_retention_years`` (invoice records) — and says so in the receipt, with what it cannot reach.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from shopprivacy.platforms import ErasureReceipt

from .client import object_id
from .errors import WooNotFound, WooSubscriptionLive
from .mapping import parse_gmt

if TYPE_CHECKING:
    from .client import WooClient
    from .settings import WooCommerceOptions

log = logging.getLogger("shopprivacy.woocommerce")

DELETED_TEXT = "[deleted]"  # what wp_privacy_anonymize_data('text') writes
DELETED_EMAIL = "deleted@site.invalid"  # what wp_privacy_anonymize_data('email') writes
PAID_STATUSES = frozenset({"completed", "processing", "refunded"})
LIVE_SUBSCRIPTION = frozenset({"active", "on-hold", "pending-cancel", "pending"})
#: A customer with a live subscription is not erased; the outbox tries again after this long.
LIVE_RETRY_SECONDS = 6 * 3600.0
_ADDRESS_TEXT = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
                 "country")
#: Gateway token meta on subscriptions (Stripe, WooPayments, PayPal, Square, Braintree, generic tokens).
_TOKEN_PREFIXES = ("_stripe_", "_wcpay_", "_ppcp_", "_paypal_", "_square_", "_wc_braintree_", "_payment_tokens")

CUSTOMER_EXPORT_FIELDS = ("id", "email", "first_name", "last_name", "username", "date_created_gmt",
                          "date_modified_gmt", "billing", "shipping", "is_paying_customer", "meta_data")
ORDER_EXPORT_FIELDS = ("id", "number", "status", "currency", "total", "total_tax", "date_created_gmt",
                       "date_paid_gmt", "billing", "shipping", "customer_ip_address", "customer_user_agent",
                       "customer_note", "payment_method_title", "line_items", "meta_data")
SUBSCRIPTION_EXPORT_FIELDS = ("id", "status", "currency", "total", "billing_period", "billing_interval",
                              "start_date_gmt", "next_payment_date_gmt", "end_date_gmt", "billing", "shipping",
                              "customer_ip_address", "customer_user_agent", "payment_method_title",
                              "line_items", "meta_data")

NOT_REACHED = {
    "product_reviews": "not erased over REST: reviews are WordPress comments; remove them in the admin",
    "download_logs": "download permissions and logs have no REST eraser; WordPress's eraser removes them when "
                     "woocommerce_erasure_request_removes_download_data is on",
    "payment_gateway_records": "the gateway (Stripe, PayPal, ...) keeps its own customer and payment records",
    "other_plugins": "data other plugins keep (forms, newsletters, analytics) is outside WooCommerce's REST API",
}


def _public_meta(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Meta entries for an export: values of internal keys (leading ``_``, incl. gateway tokens) withheld."""
    out = []
    for item in data.get("meta_data") or ():
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            key = item["key"]
            out.append({"key": key, "value": "(withheld: internal or payment data)" if key.startswith("_")
                        else item.get("value")})
    return out


def anonymised_address(address: Mapping[str, Any] | None, *, keep_invoice: bool) -> dict[str, str]:
    """A billing/shipping object with personal fields replaced; ``keep_invoice`` keeps name and address."""
    out: dict[str, str] = {"email": DELETED_EMAIL, "phone": ""}
    for name in _ADDRESS_TEXT:
        if keep_invoice:
            continue
        value = address.get(name) if isinstance(address, Mapping) else None
        out[name] = "" if name in ("country", "state") or not value else DELETED_TEXT
    return out


class PrivacyMixin:
    """``export_customer`` and ``erase_customer`` for :class:`~shopprivacy_woocommerce.WooCommerceAdapter`."""

    client: WooClient
    options: WooCommerceOptions
    name: str

    def _orders_of(self, cid: str, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        return self.client.paginate("orders", fields=fields, operation="GET orders (of customer)",
                                    params={"customer": cid, "orderby": "id", "order": "asc"})

    def _subscriptions_of(self, cid: str, fields: tuple[str, ...]) -> list[dict[str, Any]] | None:
        """The customer's subscriptions, or None when WooCommerce Subscriptions is not active."""
        try:
            return list(self.client.paginate("subscriptions", fields=fields,
                                             operation="GET subscriptions (of customer)",
                                             params={"customer": cid, "orderby": "id", "order": "asc"}))
        except WooNotFound:
            return None

    def export_customer(self, customer_id: str) -> Mapping[str, Any]:
        """The customer, their orders and subscriptions as JSON-able data (meta of internal keys, such as
        gateway tokens, is listed by key with its value withheld)."""
        cid = object_id(customer_id, what="customer")
        customer = self.client.get(f"customers/{cid}", fields=CUSTOMER_EXPORT_FIELDS, operation="GET customer")
        if not isinstance(customer, Mapping):
            customer = {}
        orders = [{**o, "meta_data": _public_meta(o)} for o in self._orders_of(cid, ORDER_EXPORT_FIELDS)]
        subs = self._subscriptions_of(cid, SUBSCRIPTION_EXPORT_FIELDS)
        return {
            "platform": self.name,
            "customer": {**customer, "meta_data": _public_meta(customer)},
            "orders": orders,
            "subscriptions": [{**s, "meta_data": _public_meta(s)} for s in subs or []],
            "notes": {} if subs is not None else {"subscriptions": "WooCommerce Subscriptions is not active"},
        }

    def erase_customer(self, customer_id: str, *, idempotency_key: str) -> ErasureReceipt:
        """Anonymise the customer's orders and ended subscriptions, then delete the customer (``force=true``:
        customers have no trash). A customer with a live subscription is left alone: :class:`WooSubscriptionLive`
        (retryable, after ``LIVE_RETRY_SECONDS``) until the subscription is cancelled, so the erasure is
        retried rather than reported done. Safe to repeat: a second run finds the customer gone and the orders
        done."""
        cid = object_id(customer_id, what="customer")
        subs = self._subscriptions_of(cid, ("id", "status", "billing", "shipping", "meta_data"))
        live = [s for s in subs or [] if s.get("status") in LIVE_SUBSCRIPTION]
        if live:
            raise WooSubscriptionLive(f"WooCommerce erasure waits: {len(live)} live subscription(s) still bill "
                                      "this customer; cancel them and the erasure is retried",
                                      code="live_subscription", retry_after=LIVE_RETRY_SECONDS)
        cutoff = datetime.now(timezone.utc) - timedelta(days=365 * self.options.tax_retention_years)
        kept_invoices = anonymised_orders = 0
        for order in self._orders_of(cid, ("id", "status", "date_created_gmt", "date_paid_gmt", "billing",
                                              "shipping")):
            created = parse_gmt(order.get("date_paid_gmt")) or parse_gmt(order.get("date_created_gmt"))
            invoice = order.get("status") in PAID_STATUSES and (created is None or created > cutoff)
            self._anonymise("orders", order, keep_invoice=invoice)
            kept_invoices += invoice
            anonymised_orders += 1
        for sub in subs or []:
            self._anonymise("subscriptions", sub, keep_invoice=False)
        try:
            self.client.delete(f"customers/{cid}", operation="DELETE customer", params={"force": "true"})
        except WooNotFound:
            log.info("WooCommerce customer already deleted")
        retained = dict(NOT_REACHED)
        retained["orders.line_items,totals,taxes"] = "accounting records kept for tax law"
        if kept_invoices:
            retained["orders.billing.name,address"] = (
                f"invoice records of {kept_invoices} paid order(s) younger than {self.options.tax_retention_years} "
                "years kept for tax law; e-mail and phone removed")
        return ErasureReceipt(
            platform=self.name, customer_id=cid, erased=("customer", "orders.customer_ip_address",
                                                        "orders.customer_user_agent", "orders.attribution",
                                                        "subscriptions.payment_tokens"),
            anonymised=(f"orders.billing x{anonymised_orders}", f"orders.shipping x{anonymised_orders}",
                        f"subscriptions x{len(subs or [])}"),
            retained=retained)

    def _anonymise(self, resource: str, obj: Mapping[str, Any], *, keep_invoice: bool) -> None:
        oid = object_id(obj.get("id"), what="order")
        meta: list[dict[str, Any]] = [{"key": "_customer_ip_address", "value": ""},
                                      {"key": "_customer_user_agent", "value": ""}]
        full = obj if "meta_data" in obj else self.client.get(
            f"{resource}/{oid}", fields=("id", "meta_data"), operation=f"GET {resource[:-1]} meta (erasure)")
        for item in (full.get("meta_data") if isinstance(full, Mapping) else None) or ():
            key = item.get("key") if isinstance(item, Mapping) else None
            if isinstance(key, str) and isinstance(item.get("id"), int) and (
                    key.startswith("_wc_order_attribution_") or key.startswith(_TOKEN_PREFIXES)):
                meta.append({"id": item["id"], "key": key, "value": None})
        body: dict[str, Any] = {"billing": anonymised_address(obj.get("billing"), keep_invoice=keep_invoice),
                                "shipping": {k: v for k, v in anonymised_address(obj.get("shipping"),
                                                                                 keep_invoice=False).items()
                                             if k != "email"},
                                "customer_note": "", "meta_data": meta}
        try:
            self.client.put(f"{resource}/{oid}", body, operation=f"PUT {resource[:-1]} (anonymise)")
        except WooNotFound:
            log.info("WooCommerce %s vanished during erasure", resource[:-1])


__all__ = ["DELETED_EMAIL", "DELETED_TEXT", "LIVE_RETRY_SECONDS", "NOT_REACHED", "PrivacyMixin",
           "anonymised_address"]
