"""What the shops' views do with the SDK, without a web framework: start a subscription, delete an account,
and turn an SDK error into the status of the page that explains it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from shopprivacy import ShopPrivacy
from shopprivacy.errors import ConflictError, InvalidInput, NotFoundError, RateLimited, ShopPrivacyError
from shopprivacy.platforms.local import LocalShop
from shopprivacy.rights import Receipt

#: The shops' Content-Security-Policy: scripts and styles only from the shop or with the request's nonce.
CSP = ("default-src 'self'; script-src 'self' 'nonce-{n}'; style-src 'self' 'nonce-{n}'; img-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Buyer(Protocol):
    """The signed-in customer, as either shop holds it (decrypted)."""

    @property
    def email(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def platform_customer_id(self) -> str | None: ...


class Plan(Protocol):
    """A subscription product."""

    @property
    def id(self) -> str: ...
    @property
    def price(self) -> Any: ...
    @property
    def interval(self) -> str | None: ...

#: The one country the example shop ships to.
SHIPS_TO = "FR"


def local_platform(sp: ShopPrivacy) -> LocalShop:
    """The platform the shops sell subscriptions on: the local reference shop the settings name."""
    adapter = sp.adapter
    if not isinstance(adapter, LocalShop):
        raise RuntimeError("the example shops run on the local reference platform (SHOPPRIVACY_PLATFORM=local)")
    return adapter


def start_subscription(sp: ShopPrivacy, platform: LocalShop, buyer: Buyer, plan: Plan, *,
                       link: Callable[[str], None], ip: str | None, user_agent: str) -> str | None:
    """Subscribe ``buyer`` to ``plan`` on the platform and bill the first period now; the subscription id, or
    None when the buyer already has this plan (a second click or a reload subscribes nobody twice). ``link``
    stores the platform's customer id on the shop's account the first time."""
    pid = buyer.platform_customer_id
    if pid is None:
        found = platform.find_customer(email=buyer.email)
        pid = found.id if found else platform.add_customer(buyer.email, first_name=buyer.first_name or None)
        link(pid)
    held = platform.export_customer(pid).get("subscriptions", [])
    if any(s.get("status") == "active" and any(line.get("variant_id") == plan.id for line in s.get("lines") or [])
           for s in held):
        return None
    now = sp.clock()
    price = str(Decimal(str(plan.price)))
    sid = platform.add_subscription(
        customer_ref=pid, amount=price, currency="EUR",
        lines=[{"variant_id": plan.id, "quantity": 1, "unit_price": price, "requires_shipping": True}],
        interval={"unit": plan.interval, "count": 1}, next_billing_at=now - timedelta(seconds=1),
        shipping_address=shipping_address(buyer.first_name, buyer.address), email=buyer.email,
        extra={"ip_address": ip, "user_agent": user_agent[:400]})
    # the first period is billed at once, under a key of its own: a retried request bills it once
    platform.create_billing_attempt(sid, idempotency_key=f"first:{sid}", origin_time=now)
    return sid


def shipping_address(name: str | None, text: str | None) -> dict[str, str]:
    """The account's free-text address in the renewal vocabulary's keys (``line1``, ``line2``, ``country``):
    a renewal that ships is skipped without ``line1`` and ``country``. The example shop ships within France."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    address = {"name": name or "", "country": SHIPS_TO}
    if lines:
        address["line1"] = lines[0]
    if len(lines) > 1:
        address["line2"] = ", ".join(lines[1:])
    return address


def erase_account(sp: ShopPrivacy, email: str, *, locale: str | None, ip: str | None,
                  phone: str | None = None) -> Receipt:
    """Erase the signed-in customer's data now: the caller checked the password, so the request starts
    verified (``verified_by="shop-login"``). The SDK suppresses the address first, every registered source
    erases (the account row: key shredded, row deleted) and the platform erases its copy through the outbox.
    ``phone`` (E.164) lets sources keyed by the number, such as SMS consent, find theirs."""
    identity = {"email": email, **({"phone": phone} if phone else {})}
    req = sp.rights.open("erase", identity, channel="account", verified_by="shop-login", locale=locale, ip=ip)
    return sp.rights.receipt(sp.rights.process(req.id).id)


def client_error(exc: ShopPrivacyError) -> int | None:
    """The 4xx status for an error the visitor caused (bad input, a missing thing, a conflict, too many tries),
    or None for the shop's own faults (database, settings, platform): those are 500 pages, logged in full."""
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return None
