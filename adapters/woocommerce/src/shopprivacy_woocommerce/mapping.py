"""WooCommerce Subscriptions objects mapped onto the SDK's renewal vocabulary (:class:`DueSubscription`).

Each renewal field asks WooCommerce for the fewest ``_fields`` that produce it. WordPress narrows nested
*objects* (``shipping.city``) but not lists, so line items travel whole. ``payment_ref`` is a reference —
``"<gateway id>/subscription/<id>"`` — built from the gateway id alone: the gateway tokens WooCommerce
Subscriptions keeps in meta (``_stripe_customer_id``, ``_stripe_source_id``, ...) are never requested.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from shopprivacy.errors import InvalidInput
from shopprivacy.platforms import RENEWAL_FIELDS, PostalAddress, SubscriptionLine

_ADDRESS = {"line1": "address_1", "line2": "address_2", "city": "city", "region": "state",
            "postal_code": "postcode", "country": "country"}

#: The WooCommerce ``_fields`` each renewal field needs.
FIELD_SOURCES: Mapping[str, tuple[str, ...]] = {
    "subscription_id": ("id",),
    "status": ("status",),
    "customer_ref": ("customer_id",),
    "payment_ref": ("id", "payment_method"),
    "amount": ("total",),
    "currency": ("currency",),
    "lines": ("line_items", "shipping_lines"),
    "interval": ("billing_period", "billing_interval"),
    "next_billing_at": ("next_payment_date_gmt",),
    "shipping_address": ("shipping_lines", "shipping.first_name", "shipping.last_name",
                         *(f"shipping.{v}" for v in _ADDRESS.values())),
    "email": ("billing.email",),
}
_PERIODS = frozenset({"day", "week", "month", "year"})
#: WooCommerce Subscriptions statuses that still bill or may bill again: ``pending`` (awaiting its first
#: payment), ``active``, ``on-hold`` (awaiting a renewal payment) and ``pending-cancel`` (paid to the end of
#: the term). The one definition behind both the legal hold (webhooks) and the erasure refusal (privacy).
LIVE_STATUSES: tuple[str, ...] = ("pending", "active", "on-hold", "pending-cancel")


def wc_fields(fields: Collection[str]) -> list[str]:
    """The ``_fields`` for the renewal ``fields`` (plus the id and due date the scan filters on)."""
    unknown = set(fields) - RENEWAL_FIELDS
    if unknown:
        raise InvalidInput(f"not renewal fields: {', '.join(sorted(unknown)[:5])}")
    wanted = ["id", "next_payment_date_gmt"]
    for name in sorted(fields):
        for source in FIELD_SOURCES[name]:
            if source not in wanted:
                wanted.append(source)
    return wanted


def parse_gmt(value: object) -> datetime | None:
    """A WooCommerce ``*_gmt`` date (``2026-11-24T09:00:00``, no offset: UTC), or None when blank/invalid."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _decimal(value: object) -> Decimal | None:
    text = _text(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _lines(raw: Mapping[str, Any]) -> list[SubscriptionLine]:
    ships = bool(raw.get("shipping_lines"))
    lines: list[SubscriptionLine] = []
    for item in raw.get("line_items") or ():
        if not isinstance(item, Mapping):
            continue
        variant = item.get("variation_id") or item.get("product_id")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            continue
        price = _decimal(item.get("price"))
        if price is None:
            subtotal = _decimal(item.get("subtotal"))
            price = subtotal / quantity if subtotal is not None else None
        if variant in (None, 0, "") or price is None:
            continue
        lines.append(SubscriptionLine(variant_id=str(variant), quantity=quantity,
                                      unit_price=str(price.quantize(Decimal("0.000001")).normalize()),
                                      requires_shipping=ships))
    return lines


def _address(raw: Mapping[str, Any]) -> PostalAddress | None:
    ship = raw.get("shipping")
    if not isinstance(ship, Mapping):
        return None
    address = PostalAddress()
    name = " ".join(p for p in (_text(ship.get("first_name")), _text(ship.get("last_name"))) if p)
    if name:
        address["name"] = name
    for ours, theirs in _ADDRESS.items():
        value = _text(ship.get(theirs))
        if value:
            address[ours] = value.upper() if ours == "country" else value  # type: ignore[literal-required]
    return address if any(k != "name" for k in address) else None


def to_due(raw: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """The renewal-vocabulary mapping of one subscription, holding only ``fields``. Missing or malformed
    values are left out, so the renewal view names what is missing (e.g. ``missing_payment_ref`` for a
    subscription renewed by hand)."""
    out: dict[str, Any] = {}
    sid = _text(raw.get("id"))
    if "subscription_id" in fields and sid:
        out["subscription_id"] = sid
    if "status" in fields and _text(raw.get("status")):
        out["status"] = raw["status"]
    if "customer_ref" in fields:
        customer = raw.get("customer_id")
        if customer not in (None, 0, "", "0") and _text(customer):
            out["customer_ref"] = str(customer)
    if "payment_ref" in fields:
        gateway = _text(raw.get("payment_method"))
        if gateway and sid:
            out["payment_ref"] = f"{gateway[:60]}/subscription/{sid}"
    if "amount" in fields and _decimal(raw.get("total")) is not None:
        out["amount"] = str(_decimal(raw.get("total")))
    if "currency" in fields and _text(raw.get("currency")):
        out["currency"] = str(raw["currency"]).upper()
    if "lines" in fields:
        out["lines"] = _lines(raw)
    if "interval" in fields:
        period, count = raw.get("billing_period"), raw.get("billing_interval")
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if period in _PERIODS and isinstance(count, int) and not isinstance(count, bool) and count >= 1:
            out["interval"] = {"unit": period, "count": count}
    if "next_billing_at" in fields:
        at = parse_gmt(raw.get("next_payment_date_gmt"))
        if at is not None:
            out["next_billing_at"] = at.isoformat()
    if "shipping_address" in fields:
        out["shipping_address"] = _address(raw) if raw.get("shipping_lines") else None
    if "email" in fields:
        billing = raw.get("billing")
        email = billing.get("email") if isinstance(billing, Mapping) else None
        out["email"] = email if isinstance(email, str) and email.strip() else None
    return out


__all__ = ["FIELD_SOURCES", "LIVE_STATUSES", "parse_gmt", "to_due", "wc_fields"]
