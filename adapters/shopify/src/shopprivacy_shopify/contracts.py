"""Subscription contracts in the renewal vocabulary: minimal selection sets and the mapping to DueSubscription.

The selection is built from the renewal fields the caller asks for, so a renewal that does not need the
receipt address never fetches the customer's e-mail, and one without physical lines never fetches an address.
``id``, ``status`` and ``nextBillingDate`` are always selected: the due filter needs them (``subscriptionContracts``
has no ``next_billing_date`` search filter, so due contracts are filtered here from ``status:ACTIVE``).

Paged scans also give each field a short GraphQL alias (``n:nextBillingDate``), which about halves the bytes
of every answer; :func:`unalias` restores the schema's names before mapping. Bulk scans keep the names
(``__parentId`` links children to the parent's ``id``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shopprivacy.errors import InvalidInput
from shopprivacy.platforms import RENEWAL_FIELDS

#: Lines fetched with each contract; a contract with more is completed by a follow-up query.
LINES_PER_CONTRACT = 10

_ADDRESS = "name address1 address2 city provinceCode countryCodeV2 zip"

#: Short aliases of the fields the paged scan selects (one alias per schema name, each alias unique).
ALIASES = {
    "id": "i", "status": "s", "nextBillingDate": "n", "currencyCode": "c", "customer": "u",
    "defaultEmailAddress": "e", "emailAddress": "a", "customerPaymentMethod": "p", "billingPolicy": "b",
    "interval": "v", "intervalCount": "k", "deliveryPrice": "d", "amount": "m", "deliveryMethod": "dm",
    "address": "ad", "name": "nm", "address1": "a1", "address2": "a2", "city": "ci", "provinceCode": "pr",
    "countryCodeV2": "co", "zip": "z", "lines": "l", "nodes": "ns", "pageInfo": "pi", "hasNextPage": "h",
    "variantId": "vi", "quantity": "q", "currentPrice": "cp", "requiresShipping": "r", "lineDiscountedPrice": "lp",
}
_NAMES = {alias: name for name, alias in ALIASES.items()}
_FIELD = re.compile(r"(?<![\w:$])(" + "|".join(sorted(ALIASES, key=len, reverse=True)) + r")(?![\w:])")


def alias(selection: str) -> str:
    """``selection`` with every field of :data:`ALIASES` written as ``alias:field``."""
    return _FIELD.sub(lambda m: f"{ALIASES[m.group(1)]}:{m.group(1)}", selection)


def unalias(value: Any) -> Any:
    """An aliased answer with the schema's field names restored."""
    if isinstance(value, dict):
        return {_NAMES.get(k, k): unalias(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unalias(v) for v in value]
    return value


def _check(fields: Collection[str]) -> frozenset[str]:
    wanted = frozenset(fields)
    unknown = wanted - RENEWAL_FIELDS
    if unknown:
        raise InvalidInput(f"not renewal fields: {', '.join(sorted(unknown)[:5])}")
    return wanted


def _line_fields(wanted: frozenset[str]) -> list[str]:
    parts: list[str] = []
    if "lines" in wanted:
        parts += ["variantId", "quantity", "currentPrice { amount }"]
    if "lines" in wanted or "shipping_address" in wanted:
        parts.append("requiresShipping")
    if "amount" in wanted:
        parts.append("lineDiscountedPrice { amount }")
    return parts


def contract_selection(fields: Collection[str], *, bulk: bool = False) -> str:
    """The GraphQL selection of one contract for ``fields`` (renewal vocabulary names)."""
    wanted = _check(fields)
    parts = ["id", "status", "nextBillingDate"]
    if "currency" in wanted:
        parts.append("currencyCode")
    customer = []
    if "customer_ref" in wanted:
        customer.append("id")
    if "email" in wanted:
        customer.append("defaultEmailAddress { emailAddress }")
    if customer:
        parts.append("customer { " + " ".join(customer) + " }")
    if "payment_ref" in wanted:
        parts.append("customerPaymentMethod { id }")
    if "interval" in wanted:
        parts.append("billingPolicy { interval intervalCount }")
    if "amount" in wanted:
        parts.append("deliveryPrice { amount }")
    if "shipping_address" in wanted:
        parts.append("deliveryMethod { "
                     f"... on SubscriptionDeliveryMethodShipping {{ address {{ {_ADDRESS} }} }} "
                     f"... on SubscriptionDeliveryMethodLocalDelivery {{ address {{ {_ADDRESS} }} }} }}")
    line = _line_fields(wanted)
    if line:
        if bulk:
            parts.append("lines { edges { node { " + " ".join(line) + " } } }")
        else:
            parts.append(f"lines(first: {LINES_PER_CONTRACT}) {{ nodes {{ " + " ".join(line) +
                         " } pageInfo { hasNextPage } }")
    return " ".join(parts) if bulk else alias(" ".join(parts))


def due_query(fields: Collection[str]) -> str:
    """One page of active contracts with the minimal selection."""
    return ("query DueSubscriptionContracts($first: Int!, $after: String) { "
            "subscriptionContracts(first: $first, after: $after, query: \"status:ACTIVE\", sortKey: ID) { "
            "nodes { " + contract_selection(fields) + " } pageInfo { hasNextPage endCursor } } }")


def lines_query(fields: Collection[str]) -> str:
    """All lines of one contract, paged (when it has more than :data:`LINES_PER_CONTRACT`)."""
    return ("query SubscriptionContractLines($id: ID!, $after: String) { subscriptionContract(id: $id) { "
            "lines(first: 50, after: $after) { nodes { " + " ".join(_line_fields(_check(fields))) +
            " } pageInfo { hasNextPage endCursor } } } }")


def bulk_due_query(fields: Collection[str], *, extra_filter: str = "") -> str:
    """The bulk-operation form of the due scan (connections as ``edges { node }``, no page arguments);
    ``extra_filter`` adds a search term such as ``id:>123``."""
    search = " ".join(["status:ACTIVE", extra_filter]).strip()
    return ("{ subscriptionContracts(query: \"" + search + "\", sortKey: ID) { edges { node { " +
            contract_selection(fields, bulk=True) + " } } } }")


def parse_when(value: Any) -> datetime | None:
    """A Shopify DateTime (``2026-11-24T09:00:00Z``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def obj(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _dec(money: Any) -> Decimal | None:
    if not isinstance(money, Mapping):
        return None
    try:
        return Decimal(str(money.get("amount")))
    except (InvalidOperation, ValueError):
        return None


def _address(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, Mapping):
        return None
    method = raw.get("address") if isinstance(raw.get("address"), Mapping) else None
    if method is None:
        return None
    names = {"name": "name", "line1": "address1", "line2": "address2", "city": "city", "region": "provinceCode",
             "postal_code": "zip", "country": "countryCodeV2"}
    out = {ours: str(method[theirs]) for ours, theirs in names.items() if method.get(theirs) not in (None, "")}
    return out or None


def to_due(node: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], fields: Collection[str]) -> dict[str, Any]:
    """Map one contract (and its lines) onto the renewal vocabulary, keeping only ``fields``."""
    wanted = frozenset(fields)
    out: dict[str, Any] = {}
    if "subscription_id" in wanted:
        out["subscription_id"] = node.get("id")
    if "status" in wanted and isinstance(node.get("status"), str):
        out["status"] = node["status"].lower()
    customer = obj(node.get("customer"))
    if "customer_ref" in wanted:
        out["customer_ref"] = customer.get("id")
    if "email" in wanted:
        email = customer.get("defaultEmailAddress")
        out["email"] = email.get("emailAddress") if isinstance(email, Mapping) else None
    if "payment_ref" in wanted:
        method = node.get("customerPaymentMethod")
        out["payment_ref"] = method.get("id") if isinstance(method, Mapping) else None
    if "currency" in wanted:
        out["currency"] = node.get("currencyCode")
    if "interval" in wanted:
        policy = node.get("billingPolicy")
        if isinstance(policy, Mapping) and isinstance(policy.get("interval"), str):
            out["interval"] = {"unit": policy["interval"].lower(), "count": policy.get("intervalCount")}
    if "next_billing_at" in wanted:
        out["next_billing_at"] = node.get("nextBillingDate")
    if "lines" in wanted:
        out["lines"] = [{"variant_id": ln.get("variantId"), "quantity": ln.get("quantity"),
                         "unit_price": str(ln["currentPrice"].get("amount"))
                         if isinstance(ln.get("currentPrice"), Mapping) else None,
                         "requires_shipping": ln.get("requiresShipping")} for ln in lines]
    if "amount" in wanted:
        parts = [_dec(ln.get("lineDiscountedPrice")) for ln in lines] + [_dec(node.get("deliveryPrice"))
                                                                          or Decimal(0)]
        out["amount"] = None if any(p is None for p in parts) else str(sum(p for p in parts if p is not None))
    if "shipping_address" in wanted:
        needs = any(ln.get("requiresShipping") is True for ln in lines)
        out["shipping_address"] = _address(node.get("deliveryMethod")) if needs else None
    return out


__all__ = [
    "ALIASES",
    "LINES_PER_CONTRACT",
    "alias",
    "bulk_due_query",
    "contract_selection",
    "due_query",
    "lines_query",
    "obj",
    "parse_when",
    "to_due",
    "unalias",
]
