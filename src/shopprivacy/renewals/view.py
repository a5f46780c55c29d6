"""The renewal view: a pydantic allow-list of what a renewal needs, built from the renewal vocabulary.

Everything else a platform sends is dropped and counted by *name* (never by value). Reading a field
outside the allow-list from a :class:`RenewalRecord` raises :class:`~shopprivacy.errors.PurposeViolation`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import PurposeViolation
from ..platforms import RENEWAL_FIELDS, PostalAddress, SubscriptionLine

# One source: the renewal vocabulary the adapters speak (``shopprivacy.platforms.DueSubscription``); the view's
# models below declare the same names (tests/renewals/test_view.py checks that they agree).
LINE_FIELDS = frozenset(SubscriptionLine.__annotations__)
ADDRESS_FIELDS = frozenset(PostalAddress.__annotations__)
#: Renewal vocabulary keys the view keeps (and the minimal fetch asks for).
ALLOWED_FIELDS = RENEWAL_FIELDS
REQUIRED_FIELDS = ("subscription_id", "customer_ref", "payment_ref", "amount", "currency", "lines", "interval",
                   "next_billing_at")
#: Address parts without which a shipped renewal is skipped (the allow-list's names: see ``ShippingAddress``).
SHIPPING_NEEDS = ("line1", "country")
_MISSING: tuple[object, ...] = (None, "", [], ())  # what a required field may not be
_MAX_NAME = 60


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RenewalLine(_Frozen):
    variant_id: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=6)
    requires_shipping: bool


class RenewalInterval(_Frozen):
    unit: Literal["day", "week", "month", "year"]
    count: int = Field(ge=1, le=1000)


class ShippingAddress(_Frozen):
    name: str | None = Field(None, max_length=300)
    line1: str | None = Field(None, max_length=300)
    line2: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=200)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=40)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class RenewalRecord(_Frozen):
    """What a renewal may use. Attribute or item access to any other name raises PurposeViolation."""

    subscription_id: str = Field(min_length=1, max_length=200)
    status: str | None = Field(None, max_length=40)
    customer_ref: str = Field(min_length=1, max_length=200)
    payment_ref: str = Field(min_length=1, max_length=300)
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=6)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    lines: tuple[RenewalLine, ...] = Field(min_length=1, max_length=500)
    interval: RenewalInterval
    next_billing_at: datetime
    shipping_address: ShippingAddress | None = None
    email: str | None = Field(None, max_length=2000, repr=False)

    @field_validator("next_billing_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset")
        return value.astimezone(timezone.utc)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            return super().__getattr__(name)  # type: ignore[misc]
        raise PurposeViolation(name[:_MAX_NAME])

    def __getitem__(self, name: str) -> Any:
        if name not in ALLOWED_FIELDS:
            raise PurposeViolation(str(name)[:_MAX_NAME])
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """Dict-style access inside the allow-list (outside it raises PurposeViolation, never the default)."""
        value = self[name]
        return default if value is None else value

    @property
    def period(self) -> str:
        """The billing period this renewal bills: the due time in UTC, to the second."""
        return self.next_billing_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def idempotency_key(self) -> str:
        """Stable key of (subscription, billing period): the same period is never billed twice."""
        return idempotency_key(self.subscription_id, self.period)

    @property
    def requires_shipping(self) -> bool:
        return any(line.requires_shipping for line in self.lines)


def idempotency_key(subscription_id: str, period: str) -> str:
    digest = hashlib.sha256(f"renewal\x00{subscription_id}\x00{period}".encode()).hexdigest()
    return "rn_" + digest[:40]


@dataclass(frozen=True)
class ViewResult:
    """The record (or None with ``skip_reason``) and the names of the fields that were dropped."""

    record: RenewalRecord | None
    dropped: tuple[str, ...] = ()
    skip_reason: str | None = None
    subscription_id: str | None = field(default=None)


def _name(key: object) -> str:
    return str(key)[:_MAX_NAME]


def _keep(raw: Any, allowed: frozenset[str], prefix: str, dropped: list[str]) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    kept = {}
    for key, value in raw.items():
        if key in allowed:
            kept[key] = value
        else:
            dropped.append(prefix + _name(key))
    return kept


def _walk(raw: Mapping[str, Any], keep_email: bool) -> tuple[dict[str, Any], list[str]]:
    """The allow-listed part of ``raw`` and the names dropped from it, in ``raw``'s order."""
    dropped: list[str] = []
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in ALLOWED_FIELDS:
            dropped.append(_name(key))
        elif key == "lines" and isinstance(value, (list, tuple)):
            data[key] = [_keep(line, LINE_FIELDS, "lines.", dropped) for line in value]
        elif key == "shipping_address":
            data[key] = _keep(value, ADDRESS_FIELDS, "shipping_address.", dropped)
        elif key == "email" and not keep_email:
            dropped.append("email")
        else:
            data[key] = value
    return data, dropped


def _nothing_to_drop(raw: Mapping[str, Any], keep_email: bool) -> bool:
    """True when :func:`_walk` would drop nothing from ``raw`` and copy it as it is (plain dicts holding only
    allow-listed keys: what a minimal fetch sends), so a copy of ``raw`` stands for its result."""
    if type(raw) is not dict or not raw.keys() <= ALLOWED_FIELDS or (not keep_email and "email" in raw):
        return False
    lines = raw.get("lines")
    if type(lines) is list:
        for line in lines:
            if type(line) is not dict or not line.keys() <= LINE_FIELDS:
                return False
    elif isinstance(lines, (list, tuple)):  # _walk makes lists of them
        return False
    address = raw.get("shipping_address")
    if type(address) is dict:
        return address.keys() <= ADDRESS_FIELDS
    return address is None or not isinstance(address, Mapping)


def build_view(raw: Mapping[str, Any], *, encrypt_email: Callable[[str, str], str] | None = None,
               keep_email: bool = True) -> ViewResult:
    """Minimise one raw subscription. Missing or malformed required fields give a named ``skip_reason``."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return ViewResult(None, (), "not_a_mapping")
    dropped: list[str]
    if _nothing_to_drop(raw, keep_email):
        data, dropped = dict(raw), []
    else:
        data, dropped = _walk(raw, keep_email)
    sub_id = data.get("subscription_id")
    if not isinstance(sub_id, str):
        sub_id = None
    for name in REQUIRED_FIELDS:
        if data.get(name) in _MISSING:
            return ViewResult(None, tuple(dropped), f"missing_{name}", sub_id)
    lines = data["lines"] if isinstance(data["lines"], (list, tuple)) else ()
    needs_shipping = False
    for line in lines:
        if (type(line) is dict or isinstance(line, Mapping)) and line.get("requires_shipping") is True:
            needs_shipping = True
            break
    if not needs_shipping and data.get("shipping_address"):
        data.pop("shipping_address")
        dropped.append("shipping_address")
    try:
        record = RenewalRecord.model_validate(data)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        return ViewResult(None, tuple(dropped), "invalid_" + _name(loc[0] if loc else "record"), sub_id)
    if needs_shipping:
        address = record.shipping_address
        if address is None:
            return ViewResult(None, tuple(dropped), "missing_shipping_address", sub_id)
        if not all([getattr(address, name) for name in SHIPPING_NEEDS]):
            # e.g. ``address1``/``zip`` instead of ``line1``/``postal_code``: dropped above, so nothing to ship to
            return ViewResult(None, tuple(dropped), "incomplete_shipping_address", sub_id)
    if record.email is not None and encrypt_email is not None:
        record = record.model_copy(update={"email": encrypt_email(record.email, record.subscription_id)})
    return ViewResult(record, tuple(dropped), None, record.subscription_id)


class DropCounter:
    """Counts of dropped field names and of skip reasons over a run (names only, never values)."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    #: Distinct names kept; further new names are counted under ``"(other)"`` so memory stays bounded.
    max_names = 1000

    def add(self, result: ViewResult) -> None:
        for name in result.dropped:
            if name in self.dropped or len(self.dropped) < self.max_names:
                self.dropped[name] += 1
            else:
                self.dropped["(other)"] += 1
        if result.skip_reason:
            self.skipped[result.skip_reason] += 1
