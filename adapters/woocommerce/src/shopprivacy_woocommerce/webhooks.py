"""WooCommerce webhooks: signature check, creation ping, dedupe, and the outbox work they cause.

One endpoint, ``POST {prefix}/webhooks/woocommerce``, for every webhook of the shop (each configured with the
same secret). ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body keyed with that secret,
checked in constant time (401 on mismatch). WooCommerce pings a new webhook with the unsigned form body
``webhook_id=N`` and keeps the webhook only on a 2xx, so that exact body is answered 200 and nothing else.
A delivery is accepted in ``sp.inbox`` (by ``X-WC-Webhook-Delivery-ID``) in the same transaction as its
outbox row, and the answer goes back at once: WooCommerce disables a webhook after repeated failures.

Outbox payloads hold ids and statuses only — never the e-mail, phone or addresses WooCommerce sends.

* ``customer.deleted`` → a pre-verified erasure of what the SDK holds about that customer id
  (``sp.rights.open("erase", {"customer_id": id}, verified_by="woocommerce", external_id=...)``): the shop's
  administrator deleted the customer, the signature proves the deletion came from the shop, and data kept
  for a customer the shop no longer has serves no purpose. The ``external_id`` makes repeats one request.
* ``subscription.*`` (created, updated, deleted, switched, ...) → the customer's legal hold: while the
  customer has a live subscription (active, on-hold, pending-cancel), rules with a ``legal_hold`` exemption
  on ``hold_entity`` leave that customer's rows alone; when none is left (cancelled, expired) the hold is
  released. The handler asks WooCommerce for the customer's live subscriptions instead of trusting the
  payload's status, so deliveries arriving out of order cannot release a hold too early.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shopprivacy.errors import InvalidInput, RetryLater, SignatureError
from shopprivacy.store.outbox import Delivery
from shopprivacy.web.http import Request, Response
from shopprivacy.web.routes import Route
from shopprivacy.web.webhooks import verify_base64

from .client import object_id

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy

    from .adapter import WooCommerceAdapter

log = logging.getLogger("shopprivacy.woocommerce")

CUSTOMER_DELETED = "woocommerce.customer_deleted"
SUBSCRIPTION_CHANGED = "woocommerce.subscription_changed"
LIVE_STATUSES = ("active", "on-hold", "pending-cancel")
MAX_BODY = 2 * 1024 * 1024
_PING = re.compile(rb"^webhook_id=\d{1,20}$")
_TOPIC = re.compile(r"^[a-z_]{1,40}\.[a-z_]{1,40}$")
_STATUS = re.compile(r"^[a-z_-]{1,30}$")


def _text(body: str, status: int) -> Response:
    return Response.json({"ok": status < 300, "detail": body}, status=status)


class WooWebhooks:
    """The endpoint and outbox handlers of one adapter on one facade."""

    def __init__(self, adapter: WooCommerceAdapter, sp: ShopPrivacy) -> None:
        self.adapter, self.sp = adapter, sp
        self.source = f"woocommerce:{adapter.options.host}"[:200]
        sp.outbox.register(CUSTOMER_DELETED, self._customer_deleted)
        sp.outbox.register(SUBSCRIPTION_CHANGED, self._subscription_changed)

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
            verify_base64(secret.get_secret_value().encode("utf-8") if secret else b"", body, signature)
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
        try:
            work = self._work(topic, payload, delivery)
        except InvalidInput as exc:
            return _text(str(exc), 400)
        with self.sp.store.begin() as conn:
            fresh = self.sp.inbox.accept(conn, source=self.source, delivery_id=delivery, topic=topic)
            if fresh and work is not None:
                self.sp.outbox.enqueue(conn, work[0], work[1], idempotency_key=work[2])
        return _text("accepted" if fresh else "duplicate delivery", 200)

    def _work(self, topic: str, payload: Mapping[str, Any],
              delivery: str) -> tuple[str, dict[str, Any], str] | None:
        """(outbox topic, payload of ids only, idempotency key) for the topics acted on, else None."""
        if topic == "customer.deleted":
            cid = object_id(payload.get("id"), what="customer")
            return CUSTOMER_DELETED, {"customer_id": cid}, f"{self.source}:customer.deleted:{cid}"[:200]
        if topic.startswith("subscription."):
            sid = object_id(payload.get("id"), what="subscription")
            raw_customer = payload.get("customer_id")
            if raw_customer in (None, 0, "0", ""):
                return None  # a guest subscription: no customer to hold
            cid = object_id(raw_customer, what="customer")
            status = payload.get("status")
            status = status if isinstance(status, str) and _STATUS.match(status) else None
            return (SUBSCRIPTION_CHANGED, {"customer_id": cid, "subscription_id": sid, "status": status},
                    f"{self.source}:{topic}:{delivery}"[:200])
        return None

    # -- outbox handlers ---------------------------------------------------------------------------------
    def _customer_deleted(self, delivery: Delivery) -> None:
        cid = object_id(delivery.payload.get("customer_id"), what="customer")
        try:
            rights = self.sp.rights
        except (AttributeError, ImportError):
            raise RetryLater("the rights capability is not available in this installation") from None
        rights.open("erase", {"customer_id": cid}, channel="woocommerce", verified_by="woocommerce",
                    external_id=f"{self.source}:customer.deleted:{cid}"[:200])
        self.sp.retention.release(self.adapter.options.hold_entity, cid)

    def _subscription_changed(self, delivery: Delivery) -> None:
        cid = object_id(delivery.payload.get("customer_id"), what="customer")
        live = self.adapter.client.get(
            "subscriptions", fields=("id",), operation="GET subscriptions (live, of customer)",
            params={"customer": cid, "status": ",".join(LIVE_STATUSES), "per_page": 1})
        entity = self.adapter.options.hold_entity
        if isinstance(live, list) and live:
            self.sp.retention.hold(entity, cid, reason="woocommerce: live subscription")
        else:
            self.sp.retention.release(entity, cid)


__all__ = ["CUSTOMER_DELETED", "LIVE_STATUSES", "SUBSCRIPTION_CHANGED", "WooWebhooks"]
