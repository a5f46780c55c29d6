"""WooCommerce webhooks: signature check, creation ping, dedupe, and the outbox work they cause.

One endpoint, ``POST {prefix}/webhooks/woocommerce``, for every webhook of the shop (each configured with the
same secret). ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body keyed with
``wp_specialchars_decode(secret, ENT_QUOTES)`` exactly as ``WC_Webhook::generate_signature`` computes it
(a secret typed with ``&amp;`` or ``&quot;`` signs with ``&`` or ``"``), checked in constant time (401 on
mismatch). WooCommerce pings a new webhook with the unsigned form body ``webhook_id=N`` and keeps the webhook
only on a 200, so that exact body is answered 200 and nothing else.

``X-WC-Webhook-Delivery-ID`` is ``wp_hash($webhook_id . strtotime('now'))``: two deliveries of one webhook in
the same second share it (a bulk delete sends many). It is therefore not a dedupe key on its own: a delivery
is accepted in ``sp.inbox`` under the delivery id *and* the SHA-256 of its topic and raw body, in the same
transaction as its outbox row, so a repeated delivery is dropped and a distinct same-second event is not.
The answer goes back at once: WooCommerce disables a webhook after more than five consecutive failures.

Outbox payloads hold ids and statuses only — never the phone or addresses WooCommerce sends, and the e-mail
address only where the work needs it (platform consent), encrypted with ``sp.fields``.

* ``customer.deleted`` → a pre-verified erasure of what the SDK holds about that customer id
  (``sp.rights.open("erase", {"customer_id": id}, verified_by="woocommerce", external_id=...)``): the shop's
  administrator deleted the customer, the signature proves the deletion came from the shop, and data kept
  for a customer the shop no longer has serves no purpose. The ``external_id`` makes repeats one request.
* ``subscription.created|updated|switched|deleted`` → the customer's legal hold: while the customer has a
  live subscription (:data:`~shopprivacy_woocommerce.mapping.LIVE_STATUSES`), rules with a ``legal_hold``
  exemption on ``hold_entity`` leave that customer's rows alone; when none is left the hold is released.
  The handler asks WooCommerce for the customer's live subscriptions instead of trusting the payload's
  status, so deliveries arriving out of order cannot release a hold too early. ``subscription.deleted``
  carries only ``{"id": N}``: the customer is found in the SDK's subscription-owner records
  (:class:`~shopprivacy.platforms.owners.SubscriptionOwners`, filled by every earlier delivery and live
  check), else by reading the subscription (a trashed one still answers).
* ``customer.created|updated`` → marketing consent recorded on the WordPress side (customer meta
  ``shopprivacy_marketing_<list>`` written by anything but the SDK, :mod:`.consent`) is applied to
  ``sp.email`` in ``run-due`` with the meta's ``updated_at`` as proof, unless the SDK holds a newer state, and
  never mirrored back. A customer delivery without such meta is acknowledged without work.
* Every other topic is acknowledged (200) without work.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shopprivacy.email import PlatformConsentUpdate
from shopprivacy.errors import InvalidInput, PermanentFailure, RetryLater, SignatureError, TokenError
from shopprivacy.platforms.owners import SubscriptionOwners
from shopprivacy.store.outbox import Delivery
from shopprivacy.web.http import Request, Response
from shopprivacy.web.routes import Route
from shopprivacy.web.webhooks import verify_base64

from .client import object_id
from .consent import CUSTOMER_TOPICS, consent_changes, customer_address
from .errors import WooNotFound
from .mapping import LIVE_STATUSES
from .wordpress import wp_specialchars_decode

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy

    from .adapter import WooCommerceAdapter

log = logging.getLogger("shopprivacy.woocommerce")

CUSTOMER_DELETED = "woocommerce.customer_deleted"
SUBSCRIPTION_CHANGED = "woocommerce.subscription_changed"
MARKETING_CONSENT = "woocommerce.marketing_consent"
#: Encryption context of the address carried by queued consent work (its row: the delivery's inbox key).
ADDRESS_CONTEXT = "woocommerce.webhook.consent_address"
#: Subscription topics WooCommerce Subscriptions registers (``WCS_Webhooks::add_topics``).
SUBSCRIPTION_TOPICS = frozenset({"subscription.created", "subscription.updated", "subscription.deleted",
                                 "subscription.switched"})
MAX_BODY = 2 * 1024 * 1024
_PING = re.compile(rb"^webhook_id=\d{1,20}$")
_TOPIC = re.compile(r"^[a-z_]{1,40}\.[a-z_]{1,40}$")
_STATUS = re.compile(r"^[a-z_-]{1,30}$")


def _text(body: str, status: int) -> Response:
    return Response.json({"ok": status < 300, "detail": body}, status=status)


def signing_key(secret: str) -> bytes:
    """The HMAC key WooCommerce signs with: ``wp_specialchars_decode($secret, ENT_QUOTES)``, UTF-8."""
    return wp_specialchars_decode(secret).encode("utf-8")


def dedupe_key(delivery_id: str, topic: str, body: bytes) -> str:
    """The inbox key of one delivery: its delivery id and the SHA-256 of topic and raw body. A re-sent
    delivery repeats all three; two same-second events share only the delivery id."""
    digest = hashlib.sha256(topic.encode("ascii") + b"\n" + body).hexdigest()
    return f"{delivery_id[:120]}:{digest}"


class WooWebhooks:
    """The endpoint and outbox handlers of one adapter on one facade."""

    def __init__(self, adapter: WooCommerceAdapter, sp: ShopPrivacy) -> None:
        self.adapter, self.sp = adapter, sp
        self.source = f"woocommerce:{adapter.options.host}"[:200]
        self.owners = SubscriptionOwners(sp.store, self.source, clock=sp.clock)
        sp.outbox.register(CUSTOMER_DELETED, self._customer_deleted)
        sp.outbox.register(SUBSCRIPTION_CHANGED, self._subscription_changed)
        sp.outbox.register(MARKETING_CONSENT, self._marketing_consent)

    def routes(self) -> list[Route]:
        return [Route(name="woocommerce_webhook", path="/webhooks/woocommerce", methods=("POST",),
                      handler=self.handle, csrf_exempt=True, max_body=MAX_BODY)]

    # -- the endpoint ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Verify, dedupe, enqueue, answer. Bad input gets a 4xx, never a 500."""
        if request.method != "POST":
            return _text("POST only", 405)
        body = request.body
        if len(body) > MAX_BODY:
            return _text("body too large", 413)
        signature = request.header("x-wc-webhook-signature")
        if signature is None and _PING.match(body.strip()):
            return _text("ping accepted", 200)
        secret = self.adapter.options.webhook_secret
        try:
            verify_base64(signing_key(secret.get_secret_value()) if secret else b"", body, signature)
        except SignatureError as exc:
            log.warning("WooCommerce webhook refused: %s", exc)
            return _text("signature mismatch", 401)
        if _PING.match(body.strip()):
            return _text("ping accepted", 200)
        topic = (request.header("x-wc-webhook-topic") or "").strip().lower()
        delivery = (request.header("x-wc-webhook-delivery-id") or "").strip()
        if not _TOPIC.match(topic) or not 0 < len(delivery) <= 200 or not delivery.isprintable():
            return _text("missing or malformed X-WC-Webhook-Topic / X-WC-Webhook-Delivery-ID", 400)
        payload = request.json(max_bytes=MAX_BODY)
        if not isinstance(payload, Mapping):
            return _text("the body is not a JSON object", 400)
        key = dedupe_key(delivery, topic, body)
        try:
            work = self._work(topic, payload, key)
        except InvalidInput as exc:
            return _text(str(exc), 400)
        with self.sp.store.begin() as conn:
            fresh = self.sp.inbox.accept(conn, source=self.source, delivery_id=key, topic=topic)
            if fresh and work is not None:
                self.sp.outbox.enqueue(conn, work[0], work[1], idempotency_key=work[2])
        return _text("accepted" if fresh else "duplicate delivery", 200)

    def _work(self, topic: str, payload: Mapping[str, Any],
              key: str) -> tuple[str, dict[str, Any], str] | None:
        """(outbox topic, payload of ids only, idempotency key) for the topics acted on, else None."""
        if topic == "customer.deleted":
            cid = object_id(payload.get("id"), what="customer")
            return CUSTOMER_DELETED, {"customer_id": cid}, f"{self.source}:customer.deleted:{cid}"[:200]
        if topic in CUSTOMER_TOPICS:
            return self._consent_work(payload, key)
        if topic not in SUBSCRIPTION_TOPICS:
            return None
        sid = object_id(payload.get("id"), what="subscription")
        raw_customer = payload.get("customer_id")
        deleted = topic == "subscription.deleted"
        if raw_customer in (None, 0, "0", "") and not deleted:
            return None  # a guest subscription: no customer to hold
        owner = None if raw_customer in (None, 0, "0", "") else object_id(raw_customer, what="customer")
        raw_status = payload.get("status")
        status = raw_status if isinstance(raw_status, str) and _STATUS.match(raw_status) else None
        work: dict[str, Any] = {"customer_id": owner, "subscription_id": sid, "status": status}
        if deleted:
            work["deleted"] = True
        return SUBSCRIPTION_CHANGED, work, f"{self.source}:{key}"[:200]

    def _consent_work(self, payload: Mapping[str, Any], key: str) -> tuple[str, dict[str, Any], str] | None:
        lists = [lid for lid, ml in self.sp.email.settings.lists.items() if ml.kind == "marketing"]
        changes, address = consent_changes(payload, lists), customer_address(payload)
        if not changes or address is None:
            return None
        cid = object_id(payload.get("id"), what="customer")
        sealed = self.sp.fields.encrypt(address, context=ADDRESS_CONTEXT, row=key)
        return (MARKETING_CONSENT, {"key": key, "customer_id": cid, "email": sealed, "changes": changes},
                f"{self.source}:{key}"[:200])

    # -- outbox handlers ---------------------------------------------------------------------------------
    def _marketing_consent(self, delivery: Delivery) -> None:
        """Apply each list's consent recorded on the WordPress side (never mirrored back to WooCommerce)."""
        p = delivery.payload
        try:
            address = str(self.sp.fields.decrypt(p["email"], context=ADDRESS_CONTEXT, row=str(p["key"])))
        except TokenError as exc:
            raise PermanentFailure(f"the sealed address of a WooCommerce consent delivery cannot be read "
                                   f"({type(exc).__name__})") from None
        for change in p.get("changes") or ():
            at = change.get("at")
            self.sp.email.platform.apply(PlatformConsentUpdate(
                platform="woocommerce", address=address, subscribed=bool(change["subscribed"]),
                updated_at=datetime.fromisoformat(at) if at else None, list_id=str(change["list"]),
                opt_in_level=change.get("level") or "unknown", customer_ref=str(p["customer_id"]),
                collected_from=change.get("from")))

    def _customer_deleted(self, delivery: Delivery) -> None:
        cid = object_id(delivery.payload.get("customer_id"), what="customer")
        try:
            rights = self.sp.rights
        except (AttributeError, ImportError):
            raise RetryLater("the rights capability is not available in this installation") from None
        rights.open("erase", {"customer_id": cid}, channel="woocommerce", verified_by="woocommerce",
                    external_id=f"{self.source}:customer.deleted:{cid}"[:200])
        self.sp.retention.release(self.adapter.options.hold_entity, cid)
        self.owners.forget_customer(cid)

    def _subscription_changed(self, delivery: Delivery) -> None:
        sid = object_id(delivery.payload.get("subscription_id"), what="subscription")
        raw = delivery.payload.get("customer_id")
        found = object_id(raw, what="customer") if raw is not None else self._owner_of(sid)
        if found is None:
            log.info("WooCommerce subscription deleted before its customer was ever seen: no hold to review")
            return
        cid = found
        live = self.live_subscription_ids(cid)
        seen = [(s, cid) for s in live]
        if raw is not None and sid not in live:
            seen.append((sid, cid))
        self.owners.remember(seen)
        if delivery.payload.get("deleted"):
            self.owners.forget(sid)
        entity = self.adapter.options.hold_entity
        if live:
            self.sp.retention.hold(entity, cid, reason="woocommerce: live subscription")
        else:
            self.sp.retention.release(entity, cid)

    def _owner_of(self, sid: str) -> str | None:
        """The customer of a subscription the delivery did not name: the SDK's records, else WooCommerce."""
        known = self.owners.owner_of(sid)
        if known is not None:
            return known
        try:
            data = self.adapter.client.get(f"subscriptions/{sid}", fields=("id", "customer_id"),
                                           operation="GET subscription (owner)")
        except WooNotFound:
            return None
        raw = data.get("customer_id") if isinstance(data, Mapping) else None
        return None if raw in (None, 0, "0", "") else object_id(raw, what="customer")

    def live_subscription_ids(self, cid: str) -> list[str]:
        """Ids of the customer's live subscriptions (first page of 100 is enough to decide a hold)."""
        data = self.adapter.client.get(
            "subscriptions", fields=("id",), operation="GET subscriptions (live, of customer)",
            params={"customer": cid, "status": ",".join(LIVE_STATUSES), "per_page": 100})
        return [object_id(s.get("id"), what="subscription") for s in data
                if isinstance(s, Mapping)] if isinstance(data, list) else []


__all__ = ["CUSTOMER_DELETED", "LIVE_STATUSES", "MARKETING_CONSENT", "SUBSCRIPTION_CHANGED", "SUBSCRIPTION_TOPICS",
           "WooWebhooks", "dedupe_key", "signing_key"]
