"""Export, correction and erasure of a customer (:class:`PersonalDataHost`, :class:`CustomerRectifier`,
:class:`ErasureVerifier`).

Export reads the REST resources: the customer, their orders and their subscriptions. Erasure anonymises
orders and ended subscriptions with WooCommerce's own erasers (``WC_Privacy_Erasers::remove_order_personal_data``,
``WCS_Privacy_Erasers::remove_subscription_personal_data``) through the companion plugin's route, because a
``PUT /wc/v3/orders/{id}`` carrying ``billing`` or ``shipping`` makes WooCommerce run ``calculate_totals(true)``
(see CONTRACTS.md). It keeps what tax law requires — the totals, lines and taxes of every order, and the
buyer's name, address and transaction id on paid orders younger than ``tax_retention_years`` (invoice
records) — and says so in the receipt, with what it cannot reach.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from shopprivacy.platforms import ErasureCheck, ErasureReceipt, RectifyReceipt

from .client import object_id
from .errors import WooCompanionMissing, WooNotFound, WooSubscriptionLive, WooUnavailable
from .mapping import LIVE_STATUSES, parse_gmt

if TYPE_CHECKING:
    from .client import WooClient
    from .settings import WooCommerceOptions

log = logging.getLogger("shopprivacy.woocommerce")

DELETED_TEXT = "[deleted]"  # what wp_privacy_anonymize_data('text') writes
DELETED_EMAIL = "deleted@site.invalid"  # what wp_privacy_anonymize_data('email') writes
PAID_STATUSES = frozenset({"completed", "processing", "refunded"})
#: The companion plugin's REST namespace (``adapters/woocommerce/wordpress-plugin/shopprivacy-companion``).
COMPANION_NAMESPACE = "wc-shopprivacy/v1"
COMPANION_MISSING = ("WooCommerce erasure needs the shopprivacy companion plugin: install and activate "
                     "adapters/woocommerce/wordpress-plugin/shopprivacy-companion on the shop (without it a REST "
                     "update of the billing address would recompute the order's totals and taxes)")
#: A customer with a live subscription is not erased; the outbox tries again after this long.
LIVE_RETRY_SECONDS = 6 * 3600.0
#: Gateway token meta on subscriptions (Stripe, WooPayments, PayPal, Square, Braintree, generic tokens).
_TOKEN_PREFIXES = ("_stripe_", "_wcpay_", "_ppcp_", "_paypal_", "_square_", "_wc_braintree_", "_payment_tokens")

#: What a correction reads first: the account fields and the billing and shipping copies it may correct.
CUSTOMER_RECTIFY_FIELDS = ("id", "email", "first_name", "last_name", "billing.first_name", "billing.last_name",
                           "billing.email", "billing.phone", "shipping.first_name", "shipping.last_name")
#: Portal fields WooCommerce cannot take as they are, and why.
RECTIFY_MANUAL = {
    "name": "WooCommerce keeps first and last names apart; correct the name in the WordPress admin (Users)",
    "address": "WooCommerce keeps addresses as separate fields (street, city, postcode, country); correct it in "
               "the WordPress admin (Users > billing and shipping address)",
}
#: What the read-back after an erasure reports as kept on purpose.
KEPT_AFTER_ERASURE = {"orders.line_items,totals,taxes": "accounting records kept for tax law (never recalculated)"}

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
        """Anonymise the customer's orders and ended subscriptions with WooCommerce's own erasers (through the
        companion plugin, so totals and taxes are never recomputed), then delete the customer (``force=true``:
        customers have no trash). A customer with a live subscription is left alone: :class:`WooSubscriptionLive`
        (retryable, after ``LIVE_RETRY_SECONDS``) until the subscription is cancelled, so the erasure is
        retried rather than reported done. Safe to repeat: a second run finds the customer gone and the orders
        detached from it (WooCommerce's eraser sets their ``customer_id`` to 0)."""
        cid = object_id(customer_id, what="customer")
        subs = self._subscriptions_of(cid, ("id", "status", "meta_data"))
        live = [s for s in subs or [] if s.get("status") in LIVE_STATUSES]
        if live:
            raise WooSubscriptionLive(f"WooCommerce erasure waits: {len(live)} live subscription(s) still bill "
                                      "this customer; cancel them and the erasure is retried",
                                      code="live_subscription", retry_after=LIVE_RETRY_SECONDS)
        cutoff = datetime.now(timezone.utc) - timedelta(days=365 * self.options.tax_retention_years)
        kept_invoices = anonymised_orders = 0
        # listed first: the eraser detaches each order from the customer, which would shift later pages
        orders = list(self._orders_of(cid, ("id", "status", "date_created_gmt", "date_paid_gmt", "meta_data")))
        for order in orders:
            created = parse_gmt(order.get("date_paid_gmt")) or parse_gmt(order.get("date_created_gmt"))
            invoice = order.get("status") in PAID_STATUSES and (created is None or created > cutoff)
            kept_invoices += self._anonymise("orders", order, keep_invoice=invoice)
            anonymised_orders += 1
        for sub in subs or []:
            self._anonymise("subscriptions", sub, keep_invoice=False)
        try:
            self.client.delete(f"customers/{cid}", operation="DELETE customer", params={"force": "true"})
        except WooNotFound:
            log.info("WooCommerce customer already deleted")
        retained = dict(NOT_REACHED)
        retained.update(KEPT_AFTER_ERASURE)
        if kept_invoices:
            retained["orders.billing.name,address,transaction_id"] = (
                f"invoice records of {kept_invoices} paid order(s) younger than {self.options.tax_retention_years} "
                "years kept for tax law; e-mail and phone removed")
        return ErasureReceipt(
            platform=self.name, customer_id=cid, erased=("customer", "orders.customer_ip_address",
                                                        "orders.customer_user_agent", "orders.attribution",
                                                        "orders.notes", "subscriptions.payment_tokens"),
            anonymised=(f"orders.billing x{anonymised_orders}", f"orders.shipping x{anonymised_orders}",
                        f"subscriptions x{len(subs or [])}"),
            retained=retained)

    def rectify_customer(self, customer_id: str, changes: Mapping[str, str], *,
                         idempotency_key: str) -> RectifyReceipt:
        """Correct the customer with one ``PUT customers/{id}`` (see the module docstring); repeating it writes
        the same values. WooCommerce refuses an e-mail address another user has (HTTP 400, not retried)."""
        cid = object_id(customer_id, what="customer")
        manual = {k: RECTIFY_MANUAL.get(k, "WooCommerce has no such customer field") for k in changes
                  if k not in ("email", "first_name", "last_name", "phone")}
        try:
            held = self.client.get(f"customers/{cid}", fields=CUSTOMER_RECTIFY_FIELDS,
                                   operation="GET customer (correction)")
        except WooNotFound:
            return RectifyReceipt(platform=self.name, customer_id=cid, manual=manual, found=False)
        if not isinstance(held, Mapping):
            raise WooUnavailable("WooCommerce GET customer (correction): the answer is not an object")
        body: dict[str, Any] = {}
        corrected: dict[str, str] = {}
        for name, raw in changes.items():
            value = raw.strip()
            if name in ("email", "first_name", "last_name"):
                body[name], where = value, [name]
                copies = ("billing",) if name == "email" else ("billing", "shipping")
            elif name == "phone":
                where, copies = [], ("billing",)
            else:
                continue
            for part in copies:
                found = held.get(part)
                copy: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
                # a copy is corrected when it held the account's value (or, for the phone, always: it is the one)
                if name == "phone" or (copy.get(name) and copy.get(name) == held.get(name)):
                    body.setdefault(part, {})[name] = value
                    where.append(f"{part}.{name}")
            corrected[name] = ", ".join(where)
        if body:
            self.client.put(f"customers/{cid}", body, operation="PUT customer (correction)")
        return RectifyReceipt(platform=self.name, customer_id=cid, corrected=corrected, manual=manual)

    def verify_erasure(self, customer_id: str) -> ErasureCheck:
        """Read back after an erasure: the customer must be gone (404) and no order or subscription may still
        be attached to its id (WooCommerce's eraser detaches them). Reads ids only."""
        cid = object_id(customer_id, what="customer")
        remaining: list[str] = []
        try:
            self.client.get(f"customers/{cid}", fields=("id",), operation="GET customer (erasure check)")
            remaining.append("customer")
        except WooNotFound:
            pass
        orders = list(self._orders_of(cid, ("id",)))
        if orders:
            remaining.append(f"orders x{len(orders)}")
        subs = self._subscriptions_of(cid, ("id",))
        if subs:
            remaining.append(f"subscriptions x{len(subs)}")
        return ErasureCheck(platform=self.name, customer_id=cid, remaining=tuple(remaining),
                            retained=dict(KEPT_AFTER_ERASURE))

    def _anonymise(self, resource: str, obj: Mapping[str, Any], *, keep_invoice: bool) -> bool:
        """Run WooCommerce's eraser on one order or ended subscription through the companion plugin, deleting
        its attribution (and, on subscriptions, gateway-token) meta first. Returns whether the invoice fields
        were kept. Nothing is PUT to ``/wc/v3``: there ``billing``/``shipping`` would recompute the totals."""
        oid = object_id(obj.get("id"), what="order")
        doomed = [item["id"] for item in obj.get("meta_data") or () if isinstance(item, Mapping)
                  and isinstance(item.get("key"), str) and isinstance(item.get("id"), int)
                  and (item["key"].startswith("_wc_order_attribution_")
                       or (resource == "subscriptions" and item["key"].startswith(_TOKEN_PREFIXES)))]
        body = {"keep_invoice": keep_invoice, "delete_meta_ids": doomed}
        try:
            data, _ = self.client.request("PUT", f"{resource}/{oid}/anonymize", body=body,
                                          operation=f"PUT {resource[:-1]} (anonymise, companion)",
                                          namespace=COMPANION_NAMESPACE)
        except WooNotFound as exc:
            if exc.code == "rest_no_route":
                raise WooCompanionMissing(COMPANION_MISSING, status=404, code="rest_no_route",
                                          retryable=False) from None
            log.info("WooCommerce %s vanished during erasure", resource[:-1])
            return False
        if isinstance(data, Mapping) and data.get("totals_unchanged") is False:
            log.error("WooCommerce %s %s: totals changed during anonymisation", resource[:-1], oid)
        return bool(isinstance(data, Mapping) and data.get("kept_invoice"))


__all__ = ["COMPANION_NAMESPACE", "CUSTOMER_RECTIFY_FIELDS", "DELETED_EMAIL", "DELETED_TEXT", "KEPT_AFTER_ERASURE",
           "LIVE_RETRY_SECONDS", "NOT_REACHED", "PrivacyMixin"]
