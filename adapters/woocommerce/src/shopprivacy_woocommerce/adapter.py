"""The WooCommerce adapter: customers, marketing consent, due subscriptions and renewal-order hygiene.

Export and erasure live in :mod:`.privacy`, the retention-settings audit in :mod:`.audit`, webhooks in
:mod:`.webhooks`; :class:`WooCommerceAdapter` puts them together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shopprivacy.errors import InvalidInput, UnsupportedOperation
from shopprivacy.platforms import (
    BillingResult,
    ConsentPage,
    CustomerRef,
    MarketingConsentUpdate,
    SaleOptOut,
    SaleOptOutReceipt,
    UpkeepAction,
)

from .audit import RetentionAuditMixin
from .client import WooClient, object_id
from .errors import WooNotFound, WooUnavailable
from .mapping import parse_gmt, to_due, wc_fields
from .privacy import PrivacyMixin
from .settings import WooCommerceOptions

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy
    from shopprivacy.settings import Settings
    from shopprivacy.web.routes import Route

log = logging.getLogger("shopprivacy.woocommerce")

#: Customer meta key holding the e-mail marketing state of one list: ``shopprivacy_marketing_<list>``.
CONSENT_META_PREFIX = "shopprivacy_marketing_"
#: Customer meta key of the customer's opt-out of the sale/sharing of their data (the companion consent plugin
#: reads it for a signed-in customer and counts ``sale_of_data`` as denied).
SALE_OPT_OUT_META = "shopprivacy_sale_opt_out"
#: Order meta written by WooCommerce order attribution (8.5+): source type, UTM fields, device, session data.
ATTRIBUTION_PREFIX = "_wc_order_attribution_"
#: Internal order meta behind the read-only ``customer_ip_address``/``customer_user_agent`` REST fields;
#: ``WC_Data::update_meta_data`` routes these keys to the order's setters, so a PUT can clear them.
_INTERNAL_CLEAN = {"customer_ip_address": "_customer_ip_address", "customer_user_agent": "_customer_user_agent"}
_LIST_ID = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
_HYGIENE_FIELDS = ("id", "customer_ip_address", "customer_user_agent", "meta_data")
#: Subscription dates read around a hygiene PUT to show it moved none of them.
SUBSCRIPTION_DATES = ("start_date_gmt", "trial_end_date_gmt", "next_payment_date_gmt", "end_date_gmt")

BILLING_UNSUPPORTED = (
    "WooCommerce Subscriptions bills renewals itself: its Action Scheduler job "
    "'woocommerce_scheduled_subscription_payment' creates the renewal order and the gateway charges it; the "
    "REST API has no endpoint that charges a renewal. 'shopprivacy renewals run' without charge= does upkeep "
    "only on WooCommerce (hygiene, holds); pass charge=... to sp.renewals.run to bill with your own gateway code")


def consent_meta_key(list_id: str) -> str:
    """The customer meta key for ``list_id`` (see README: mailing plugins read it)."""
    if not _LIST_ID.match(list_id):
        raise InvalidInput("a mailing list id for WooCommerce meta uses letters, digits, '_' and '-' only")
    return CONSENT_META_PREFIX + list_id.lower()


class WooCommerceAdapter(PrivacyMixin, RetentionAuditMixin):
    """Platform adapter for WooCommerce over its REST API v3 (entry point name ``woocommerce``)."""

    name = "woocommerce"
    #: WooCommerce Subscriptions bills renewals itself: the renewal job does upkeep here, never billing.
    bills_renewals_itself = True

    def __init__(self, options: WooCommerceOptions, *, client: WooClient | None = None) -> None:
        self.options = options
        self.client = client or WooClient(options)

    @property
    def bytes_received(self) -> int:
        return self.client.bytes_received

    def close(self) -> None:
        self.client.close()

    # -- CustomerDirectory ------------------------------------------------------------------------------
    def find_customer(self, *, email: str | None = None, customer_id: str | None = None) -> CustomerRef | None:
        """The customer, or None when WooCommerce answers that there is none; WooUnavailable (retryable) when
        the answer is not the shape WooCommerce sends, so a broken answer is never taken for "no customer"."""
        if customer_id:
            cid = object_id(customer_id, what="customer")
            try:
                data = self.client.get(f"customers/{cid}", fields=("id", "email"), operation="GET customer")
            except WooNotFound:
                return None
            return _ref(data, "GET customer")
        if not email or "@" not in email or len(email) > 320:
            raise InvalidInput("find_customer needs an e-mail address or a customer id")
        operation = "GET customers (by e-mail)"
        data = self.client.get("customers", fields=("id", "email"), operation=operation,
                               params={"email": email.strip(), "role": "all", "per_page": 1})
        if not isinstance(data, list):
            raise WooUnavailable(f"WooCommerce {operation}: expected a list")
        return _ref(data[0], operation) if data else None

    # -- MarketingConsentSink ---------------------------------------------------------------------------
    def set_marketing_consent(self, update: MarketingConsentUpdate, *, idempotency_key: str) -> None:
        """Write the list's state to customer meta ``shopprivacy_marketing_<list>``; an older update never
        overwrites a newer one, and replaying the same update changes nothing."""
        key = consent_meta_key(update.list_id)
        ref = self.find_customer(customer_id=update.customer_id) if update.customer_id else (
            self.find_customer(email=update.email) if update.email else None)
        if ref is None:
            log.info("marketing consent not mirrored: no WooCommerce customer for this subscriber")
            return
        try:
            data = self.client.get(f"customers/{ref.id}", fields=("id", "meta_data"), operation="GET customer meta")
        except WooNotFound:
            return
        if not isinstance(data, Mapping) or not isinstance(data.get("meta_data"), list):
            # without the meta held, an older update could overwrite a newer one: try again later instead
            raise WooUnavailable("WooCommerce GET customer meta: the answer has no meta_data list")
        current = _meta_value(data, key)
        at = update.consent_updated_at.isoformat()
        if isinstance(current, Mapping):
            seen_at = parse_gmt(current.get("updated_at"))
            if current.get("idempotency_key") == idempotency_key or (
                    seen_at is not None and seen_at > update.consent_updated_at):
                return
        value = {"subscribed": update.subscribed, "opt_in_level": update.opt_in_level, "updated_at": at,
                 "source": "shopprivacy", "idempotency_key": idempotency_key[:200]}
        self.client.put(f"customers/{ref.id}", {"meta_data": [{"key": key, "value": value}]},
                        operation="PUT customer meta")

    # -- MarketingConsentSource -------------------------------------------------------------------------
    def marketing_consent_pages(self, *, after: str | None, lists: Sequence[str]) -> Iterator[ConsentPage]:
        """The consent meta of the shop's customers for ``lists``, a page of customers at a time, from page
        ``after`` (see :mod:`.consent_import`)."""
        from .consent_import import consent_pages

        return consent_pages(self.client, after=after, lists=lists)

    # -- SaleOptOutSink ---------------------------------------------------------------------------------
    def opt_out_of_sale(self, opt_out: SaleOptOut, *, idempotency_key: str) -> SaleOptOutReceipt:
        """Write customer meta ``shopprivacy_sale_opt_out`` (``{"opted_out": true, ...}``); a customer already
        opted out is not written again, so a retry or a repeated request changes nothing."""
        ref = self.find_customer(customer_id=opt_out.customer_id) if opt_out.customer_id else (
            self.find_customer(email=opt_out.email) if opt_out.email else None)
        if ref is None:
            return SaleOptOutReceipt(platform=self.name, customer_id=opt_out.customer_id, found=False)
        where = f"customer meta {SALE_OPT_OUT_META}"
        try:
            data = self.client.get(f"customers/{ref.id}", fields=("id", "meta_data"), operation="GET customer meta")
        except WooNotFound:
            return SaleOptOutReceipt(platform=self.name, customer_id=ref.id, found=False)
        if not isinstance(data, Mapping) or not isinstance(data.get("meta_data"), list):
            raise WooUnavailable("WooCommerce GET customer meta: the answer has no meta_data list")
        current = _meta_value(data, SALE_OPT_OUT_META)
        if isinstance(current, Mapping) and current.get("opted_out") is True:
            return SaleOptOutReceipt(platform=self.name, customer_id=ref.id, where=where)
        value = {"opted_out": True, "source": "shopprivacy", "idempotency_key": idempotency_key[:200]}
        self.client.put(f"customers/{ref.id}", {"meta_data": [{"key": SALE_OPT_OUT_META, "value": value}]},
                        operation="PUT customer meta")
        return SaleOptOutReceipt(platform=self.name, customer_id=ref.id, where=where)

    # -- SubscriptionSource -----------------------------------------------------------------------------
    def iter_due_subscriptions(self, *, due_before: datetime,
                               fields: Collection[str]) -> Iterator[Mapping[str, Any]]:
        """Active subscriptions whose next payment is before ``due_before``, asking only for the ``_fields``
        the renewal ``fields`` need. The REST API cannot filter on the next payment date, so every active
        subscription is paged (id order) and the date is compared here."""
        if due_before.tzinfo is None:
            raise InvalidInput("due_before needs a UTC offset")
        wanted = wc_fields(fields)
        for raw in self.client.paginate("subscriptions", fields=wanted, operation="GET subscriptions",
                                        params={"status": "active", "orderby": "id", "order": "asc"}):
            at = parse_gmt(raw.get("next_payment_date_gmt"))
            if at is None or at >= due_before:
                continue
            yield to_due(raw, fields)

    def create_billing_attempt(self, subscription_id: str, *, idempotency_key: str,
                               origin_time: datetime) -> BillingResult:
        """Not available over REST (see :data:`BILLING_UNSUPPORTED` and the README)."""
        raise UnsupportedOperation(BILLING_UNSUPPORTED)

    # -- RenewalOrderCleaner ----------------------------------------------------------------------------
    def clean_renewal_order(self, order_id: str) -> tuple[str, ...]:
        """Clear the IP address, user agent and ``_wc_order_attribution_*`` meta of a renewal order; return
        the names of the fields that are gone afterwards (verified by reading the order again)."""
        return self.clean_object("orders", order_id)

    def clean_object(self, resource: str, object_id_: str) -> tuple[str, ...]:
        """The same hygiene on an order or a subscription (``resource`` ``"orders"``/``"subscriptions"``):
        cleaning the subscription stops WooCommerce Subscriptions copying the data into later renewals.

        The PUT carries ``meta_data`` only: no ``billing``/``shipping`` (which would recompute totals), no
        dates and no status, so WooCommerce Subscriptions never calls ``update_dates`` (CONTRACTS.md); on a
        subscription the dates are read before and after to prove it."""
        if resource not in ("orders", "subscriptions"):
            raise InvalidInput("clean_object works on orders and subscriptions")
        oid = object_id(object_id_, what="order")
        before = self._hygiene_read(resource, oid, "hygiene")
        found = _clutter(before)
        if not found:
            return ()
        self.client.put(f"{resource}/{oid}", {"meta_data": _cleaning_meta(before, found)},
                        operation=f"PUT {resource[:-1]} (hygiene)")
        after_data = self._hygiene_read(resource, oid, "hygiene check")
        after = _clutter(after_data)
        if after:
            log.warning("WooCommerce %s %s still carries %s after cleaning", resource[:-1], oid, ", ".join(after))
        moved = [d for d in SUBSCRIPTION_DATES if resource == "subscriptions" and
                 isinstance(before, Mapping) and isinstance(after_data, Mapping) and before.get(d) != after_data.get(d)]
        if moved:
            log.error("WooCommerce subscription %s: %s changed during hygiene", oid, ", ".join(moved))
        return tuple(name for name in found if name not in after)

    def _hygiene_read(self, resource: str, oid: str, why: str) -> Any:
        extra = SUBSCRIPTION_DATES if resource == "subscriptions" else ()
        return self.client.get(f"{resource}/{oid}", fields=(*_HYGIENE_FIELDS, *extra),
                               operation=f"GET {resource[:-1]} ({why})")

    # -- SelfBillingSource: WooCommerce Subscriptions bills by itself -------------------------------------
    def plan_renewal_upkeep(self, subscription: Mapping[str, Any]) -> list[UpkeepAction]:
        """Hold the customer of a due subscription and clean the subscription before WooCommerce
        Subscriptions copies its IP address, user agent and attribution into the renewal order (reads only)."""
        sid = object_id(subscription.get("subscription_id"), what="subscription")
        steps: list[UpkeepAction] = []
        customer = subscription.get("customer_ref")
        if customer:
            steps.append(UpkeepAction(kind="hold_customer", target=object_id(customer, what="customer"),
                                      entity=self.options.hold_entity))
        found = _clutter(self._hygiene_read("subscriptions", sid, "upkeep plan"))
        if found:
            steps.append(UpkeepAction(kind="clean_subscription", target=sid, fields=tuple(found)))
        return steps

    def apply_renewal_upkeep(self, action: UpkeepAction) -> UpkeepAction | None:
        """Clean one subscription; the returned step names only the fields really gone."""
        if action.kind != "clean_subscription":
            raise InvalidInput("the WooCommerce adapter applies clean_subscription steps only")
        gone = self.clean_object("subscriptions", action.target)
        return UpkeepAction(kind=action.kind, target=action.target, fields=gone) if gone else None

    # -- WebhookReceiver --------------------------------------------------------------------------------
    def attach(self, sp: ShopPrivacy) -> Sequence[Route]:
        """Register the outbox handlers and return the webhook endpoint (see :mod:`.webhooks`)."""
        from .webhooks import WooWebhooks

        return WooWebhooks(self, sp).routes()


def _ref(data: Any, operation: str) -> CustomerRef:
    if not isinstance(data, Mapping) or data.get("id") in (None, 0, "") or isinstance(data.get("id"), bool):
        raise WooUnavailable(f"WooCommerce {operation}: the answer has no customer id")
    email = data.get("email")
    return CustomerRef(id=str(data["id"]), email=email if isinstance(email, str) and email else None)


def _meta_items(data: Any) -> list[Mapping[str, Any]]:
    meta = data.get("meta_data") if isinstance(data, Mapping) else None
    return [m for m in meta if isinstance(m, Mapping)] if isinstance(meta, list) else []


def _meta_value(data: Any, key: str) -> Any:
    for item in _meta_items(data):
        if item.get("key") == key:
            return item.get("value")
    return None


def _cleaning_meta(before: Any, found: list[str]) -> list[dict[str, Any]]:
    """The ``meta_data`` entries that clear ``found``: internal keys set to ``""``, attribution deleted by id."""
    meta: list[dict[str, Any]] = []
    for name in found:
        if name in _INTERNAL_CLEAN:
            meta.append({"key": _INTERNAL_CLEAN[name], "value": ""})
        else:
            meta.extend({"id": m["id"], "key": name, "value": None} for m in _meta_items(before)
                        if m.get("key") == name and isinstance(m.get("id"), int))
    return meta


def _clutter(data: Any) -> list[str]:
    """Names of the personal clutter an order or subscription still carries."""
    names = [name for name in _INTERNAL_CLEAN
             if isinstance(data, Mapping) and isinstance(data.get(name), str) and data[name].strip()]
    for item in _meta_items(data):
        key = item.get("key")
        if isinstance(key, str) and key.startswith(ATTRIBUTION_PREFIX) and item.get("value") not in (None, "") \
                and key not in names:
            names.append(key[:100])
    return names


def create_adapter(settings: Settings) -> WooCommerceAdapter:
    """Entry point factory: options from ``settings.platform_options`` (see :class:`WooCommerceOptions`)."""
    return WooCommerceAdapter(WooCommerceOptions.parse(settings.platform_options))


__all__ = ["ATTRIBUTION_PREFIX", "BILLING_UNSUPPORTED", "CONSENT_META_PREFIX", "SALE_OPT_OUT_META",
           "SUBSCRIPTION_DATES", "WooCommerceAdapter", "consent_meta_key", "create_adapter"]
