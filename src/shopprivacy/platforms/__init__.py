"""The platform plug-in point: protocols adapters implement, value types they exchange, lookup by name.

An adapter is found under the entry point group ``shopprivacy.adapters`` by name (``Settings.platform``);
the entry point is a factory ``create_adapter(settings) -> PlatformAdapter``. Operations are grouped in
small protocols, and an adapter implements the ones its platform offers; a capability that needs an
operation the adapter lacks raises :class:`~shopprivacy.errors.UnsupportedOperation`.

Adapters ask the platform only for what a purpose needs and never log personal data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict, TypeVar, runtime_checkable

from ..errors import UnsupportedOperation
from .registry import ENTRY_POINT_GROUP, available_adapters, load_adapter, parse_platform_options


@runtime_checkable
class PlatformAdapter(Protocol):
    """Every adapter has a name and can be closed."""

    name: str

    def close(self) -> None: ...


@dataclass(frozen=True)
class CustomerRef:
    """A customer on the platform: its opaque id, and the e-mail only when the purpose needs it."""

    id: str
    email: str | None = field(default=None, repr=False)


@runtime_checkable
class CustomerDirectory(Protocol):
    def find_customer(self, *, email: str | None = None, customer_id: str | None = None) -> CustomerRef | None:
        """The customer with this e-mail or id, or None. Fetches the id (and e-mail) only."""


@dataclass(frozen=True)
class MarketingConsentUpdate:
    """E-mail marketing state to mirror on the platform."""

    list_id: str
    subscribed: bool
    opt_in_level: Literal["single_opt_in", "confirmed_opt_in", "unknown"]
    consent_updated_at: datetime
    customer_id: str | None = None
    email: str | None = field(default=None, repr=False)


@runtime_checkable
class MarketingConsentSink(Protocol):
    def set_marketing_consent(self, update: MarketingConsentUpdate, *, idempotency_key: str) -> None:
        """Record the state on the platform; raise PlatformError (retryable or not) on failure."""


@dataclass(frozen=True)
class ConsentPage:
    """One page of the e-mail marketing consent a platform holds, for ``shopprivacy consent import``.

    ``records`` are plain mappings the importer checks one by one (``address``, ``list``, ``state``,
    ``opt_in_level``, ``consented_at``, ``source``, ``customer_ref``; see :mod:`shopprivacy.email.importing`), so a
    malformed one is reported on its own. ``cursor`` is where the page after this one starts (an opaque text: a
    GraphQL cursor, a page number); None when this page is the last."""

    records: Sequence[Mapping[str, Any]]
    cursor: str | None


@runtime_checkable
class MarketingConsentSource(Protocol):
    def marketing_consent_pages(self, *, after: str | None, lists: Sequence[str]) -> Iterator[ConsentPage]:
        """The platform's customers with their e-mail marketing consent, a page at a time, starting after the
        ``cursor`` of an earlier page (None: from the start). ``lists``: the SDK's marketing lists the caller
        imports into (a platform with one consent for all marketing reports it under ``"*"``)."""


@dataclass(frozen=True)
class SmsConsentUpdate:
    """SMS marketing state to mirror on the platform (one state for all SMS marketing)."""

    subscribed: bool
    opt_in_level: Literal["single_opt_in", "confirmed_opt_in", "unknown"]
    consent_updated_at: datetime
    customer_id: str


@runtime_checkable
class SmsConsentSink(Protocol):
    def set_sms_marketing_consent(self, update: SmsConsentUpdate, *, idempotency_key: str) -> None:
        """Record the SMS marketing state on the platform; raise PlatformError (retryable or not) on failure."""


class BillingInterval(TypedDict):
    unit: Literal["day", "week", "month", "year"]
    count: int


class SubscriptionLine(TypedDict):
    variant_id: str  # platform variant / product id or SKU
    quantity: int
    unit_price: str  # decimal as text, e.g. "19.90"
    requires_shipping: bool


class PostalAddress(TypedDict, total=False):
    name: str
    line1: str
    line2: str
    city: str
    region: str  # province / state code
    postal_code: str
    country: str  # ISO 3166-1 alpha-2


class DueSubscription(TypedDict, total=False):
    """A due subscription in the renewal vocabulary shared by every adapter and the renewal view.

    Adapters map their platform's names onto these keys. They may pass further keys (the view drops
    and counts them), but should not fetch them: they ask the platform only for the requested fields.
    """

    subscription_id: str
    status: str  # "active", ...
    customer_ref: str  # opaque platform customer id
    payment_ref: str  # payment method / mandate *reference*, never card data
    amount: str  # decimal as text: the amount billed each period
    currency: str  # ISO 4217
    lines: list[SubscriptionLine]
    interval: BillingInterval
    next_billing_at: str  # ISO 8601 date-time with offset
    shipping_address: PostalAddress | None
    email: str | None  # receipt address


#: Every key of the renewal vocabulary, for ``iter_due_subscriptions(fields=...)``.
RENEWAL_FIELDS: frozenset[str] = frozenset(DueSubscription.__annotations__)


@dataclass(frozen=True)
class BillingResult:
    attempt_id: str
    status: Literal["ready", "pending", "failed"]
    order_id: str | None = None
    error_code: str | None = None


@runtime_checkable
class SubscriptionSource(Protocol):
    def iter_due_subscriptions(self, *, due_before: datetime,
                               fields: Collection[str]) -> Iterator[Mapping[str, Any]]:
        """Subscriptions due before ``due_before`` as :class:`DueSubscription` mappings, fetching only
        ``fields`` (names from :data:`RENEWAL_FIELDS`) from the platform and paging with cursors."""

    def create_billing_attempt(self, subscription_id: str, *, idempotency_key: str,
                               origin_time: datetime) -> BillingResult:
        """Bill one period; the same idempotency key never bills twice."""


@runtime_checkable
class RenewalOrderCleaner(Protocol):
    def clean_renewal_order(self, order_id: str) -> tuple[str, ...]:
        """Remove IP address, user agent and attribution data from a renewal order; return field names."""


@dataclass(frozen=True)
class UpkeepAction:
    """One step of renewal upkeep on a platform that bills by itself (:class:`SelfBillingSource`).

    ``clean_subscription``: remove ``fields`` (IP address, user agent, attribution meta) from subscription
    ``target`` before the platform copies them into its next renewal order. ``hold_customer``: place a legal
    hold on customer ``target`` under ``entity`` (they have a live subscription).
    """

    kind: Literal["clean_subscription", "hold_customer"]
    target: str
    fields: tuple[str, ...] = ()
    entity: str = ""


@runtime_checkable
class SelfBillingSource(Protocol):
    """A subscription platform that bills renewals by itself (WooCommerce Subscriptions' scheduler).

    ``bills_renewals_itself`` is the capability flag the renewal runner reads: without a ``charge`` it does
    no billing on such a platform, only upkeep — the minimal scan, subscription hygiene and legal holds.
    ``plan_renewal_upkeep`` only reads; ``apply_renewal_upkeep`` performs a ``clean_subscription`` step and
    returns it with the fields really gone (None when nothing changed). A dry run prints the plan, a real
    run the applied steps, so both say the same thing when the shop behaves.
    """

    bills_renewals_itself: bool

    def plan_renewal_upkeep(self, subscription: Mapping[str, Any]) -> Sequence[UpkeepAction]:
        """The steps one due subscription (``subscription_id``, ``customer_ref``) needs; reads only."""

    def apply_renewal_upkeep(self, action: UpkeepAction) -> UpkeepAction | None:
        """Perform one ``clean_subscription`` step; return what was really done."""


def bills_renewals_itself(adapter: object) -> bool:
    """True when ``adapter`` declares that its platform bills renewals on its own."""
    return isinstance(adapter, SelfBillingSource) and adapter.bills_renewals_itself is True


@dataclass(frozen=True)
class ErasureReceipt:
    """What the platform erased, anonymised or kept (with the reason), by field or object name."""

    platform: str
    customer_id: str
    erased: tuple[str, ...] = ()
    anonymised: tuple[str, ...] = ()
    retained: Mapping[str, str] = field(default_factory=dict)
    pending: bool = False


@runtime_checkable
class PersonalDataHost(Protocol):
    def export_customer(self, customer_id: str) -> Mapping[str, Any]:
        """Everything the platform holds about the customer, JSON-able."""

    def erase_customer(self, customer_id: str, *, idempotency_key: str) -> ErasureReceipt:
        """Erase or anonymise the customer on the platform."""


@dataclass(frozen=True)
class RectifyReceipt:
    """What the platform corrected, by portal field (``email``, ``first_name``, ...): where on the platform
    (``corrected``: field -> the platform's fields written), and what it could not correct, with the reason
    (``manual``: e.g. an address the platform keeps as structured fields). ``found`` is false when the
    platform has no such customer (nothing was written)."""

    platform: str
    customer_id: str
    corrected: Mapping[str, str] = field(default_factory=dict)
    manual: Mapping[str, str] = field(default_factory=dict)
    found: bool = True


@runtime_checkable
class CustomerRectifier(Protocol):
    def rectify_customer(self, customer_id: str, changes: Mapping[str, str], *,
                         idempotency_key: str) -> RectifyReceipt:
        """Correct the customer's copy on the platform. ``changes`` maps portal field names
        (:data:`shopprivacy.rights.model.RECTIFIABLE`) to their new values; an identifier (the e-mail) is only
        passed once its new value was confirmed. Repeating a call leaves the same state."""


@dataclass(frozen=True)
class SaleOptOut:
    """A person's opt-out of the sale and sharing of their data (CCPA/CPRA), for the platform: the customer id
    and/or e-mail address (Shopify's ``dataSaleOptOut`` takes the address)."""

    customer_id: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SaleOptOutReceipt:
    """What the platform recorded: ``where`` names the platform's field (e.g. ``customer.dataSaleOptOut``);
    ``found`` is false when the platform has no such customer (nothing was written)."""

    platform: str
    customer_id: str | None = None
    where: str = ""
    found: bool = True


@runtime_checkable
class SaleOptOutSink(Protocol):
    def opt_out_of_sale(self, opt_out: SaleOptOut, *, idempotency_key: str) -> SaleOptOutReceipt:
        """Record on the platform that the customer opted out of the sale/sharing of their data, so the
        platform's own apps and pixels honour it. Repeating a call leaves the same state."""


@dataclass(frozen=True)
class ErasureCheck:
    """The platform's state read back after an erasure.

    ``remaining``: names of fields or objects that still hold the customer's personal data (empty: erased);
    ``retained``: what the platform keeps on purpose, with the reason (e.g. orders kept for tax law);
    ``pending``: the platform accepted the erasure and completes it on its own schedule (read again after
    ``recheck_after`` seconds)."""

    platform: str
    customer_id: str
    remaining: tuple[str, ...] = ()
    retained: Mapping[str, str] = field(default_factory=dict)
    pending: bool = False
    recheck_after: float = 0.0

    @property
    def erased(self) -> bool:
        return not self.remaining and not self.pending


@runtime_checkable
class ErasureVerifier(Protocol):
    def verify_erasure(self, customer_id: str) -> ErasureCheck:
        """Read the customer back (fetching only what shows whether personal data is left)."""


@runtime_checkable
class WebhookReceiver(Protocol):
    def attach(self, sp: Any) -> Sequence[Any]:
        """Register the adapter's outbox handlers on ``sp.outbox`` and return its webhook endpoints.

        ``sp`` is the :class:`~shopprivacy.ShopPrivacy` facade: an adapter's webhooks are an entry point, like
        the integrations, and may use any capability. The core's plug-in point names neither the facade nor
        the web kit (see docs/architecture.md), so both are typed loosely here and precisely in the adapters.

        The facade calls this once, before mounting web routes and before ``run_due`` delivers the outbox,
        so webhook work queued by one process is delivered by another. Endpoints are framework-neutral
        :class:`~shopprivacy.web.routes.Route` values (``csrf_exempt=True``) that verify the signature over
        the raw body, accept the delivery in the inbox and enqueue the work in one transaction.
        """


P = TypeVar("P")


def require(adapter: object, protocol: type[P], operation: str) -> P:
    """``adapter`` as ``protocol``, or UnsupportedOperation naming the adapter and the operation."""
    if not isinstance(adapter, protocol):
        name = getattr(adapter, "name", type(adapter).__name__)
        raise UnsupportedOperation(f"the {name!r} platform adapter does not support {operation}")
    return adapter


__all__ = [
    "ENTRY_POINT_GROUP",
    "RENEWAL_FIELDS",
    "BillingInterval",
    "BillingResult",
    "ConsentPage",
    "CustomerDirectory",
    "CustomerRectifier",
    "CustomerRef",
    "DueSubscription",
    "ErasureCheck",
    "ErasureReceipt",
    "ErasureVerifier",
    "MarketingConsentSink",
    "MarketingConsentSource",
    "MarketingConsentUpdate",
    "PersonalDataHost",
    "PlatformAdapter",
    "PostalAddress",
    "RectifyReceipt",
    "RenewalOrderCleaner",
    "SaleOptOut",
    "SaleOptOutReceipt",
    "SaleOptOutSink",
    "SelfBillingSource",
    "SmsConsentSink",
    "SmsConsentUpdate",
    "SubscriptionLine",
    "SubscriptionSource",
    "UpkeepAction",
    "WebhookReceiver",
    "available_adapters",
    "bills_renewals_itself",
    "load_adapter",
    "parse_platform_options",
    "require",
]
