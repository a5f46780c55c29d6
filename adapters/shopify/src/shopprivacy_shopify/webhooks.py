"""Shopify webhooks, framework-neutral: verify, deduplicate, enqueue, answer fast.

One endpoint (``webhook_path``, default ``/webhooks/shopify`` below the integration's prefix) receives
every topic. The handler checks ``X-Shopify-Hmac-Sha256`` over the raw body (401 when bad or missing) and
answers 404 for a shop other than the configured one (the delivery is authentic but not ours to keep).
Every other authentic delivery is acknowledged with 200, since Shopify retries a delivery it counts as failed
and in the end removes the subscription: topics without work here (``orders/create``, ``customer.tags_added``)
at once, and a compliance delivery whose body is not its topic's (:mod:`.compliance`) or that carries no
delivery id without work, logged and recorded in the audit log (``shopify.webhook_ignored``).

A compliance delivery is accepted in the inbox under ``X-Shopify-Event-Id`` (Shopify's key for duplicates:
one event delivered twice, or through two subscriptions, keeps it; ``X-Shopify-Webhook-Id`` when absent)
and its work is enqueued in the same transaction. The work runs later in ``run-due``:
``customers/data_request`` opens an export, ``customers/redact`` an erasure, and ``shop/redact`` removes
everything held for the shop. E-mail addresses and phone numbers from the payload are encrypted with
``sp.fields`` before they reach the outbox; logs carry topics, pseudonyms and counts only.

``customers_email_marketing_consent/update`` (:mod:`.marketing`) is accepted the same way and applied in
``run-due`` with ``sp.email.platform.apply``: Shopify's state, opt-in level and ``consent_updated_at`` become
the SDK's e-mail consent for every marketing list, unless the SDK holds a newer state, and nothing is queued
back to Shopify. ``customers_marketing_consent/update`` (SMS) is applied the same way with
``sp.sms.platform.apply`` to every SMS marketing program (the number sealed in the queued row). A body that is
not the topic's, without an address or number, or still ``pending`` is acknowledged without any write (it is
Shopify's, signed: refusing it would only make Shopify retry it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from shopprivacy.email import PlatformConsentUpdate
from shopprivacy.errors import (
    InvalidInput,
    PermanentFailure,
    RetryLater,
    SignatureError,
    StoreError,
    TokenError,
)
from shopprivacy.store.outbox import Delivery
from shopprivacy.web.http import Request, Response
from shopprivacy.web.routes import Route
from shopprivacy.web.webhooks import verify_base64

from .compliance import BODIES, DATA_REQUEST, REDACT, SHOP_REDACT, CustomerRequestBody
from .customers import customer_gid
from .marketing import EMAIL_CONSENT, SMS_CONSENT, SMS_WITHDRAWN, WITHDRAWN, EmailConsentBody, SmsConsentBody
from .options import ShopifyOptions

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shopprivacy.app import ShopPrivacy

log = logging.getLogger("shopprivacy.shopify.webhooks")

MAX_BODY = 512 * 1024
#: Outbox topics of the compliance work.
OUTBOX_TOPICS = {DATA_REQUEST: "shopify.customers_data_request", REDACT: "shopify.customers_redact",
                 SHOP_REDACT: "shopify.shop_redact", EMAIL_CONSENT: "shopify.email_marketing_consent",
                 SMS_CONSENT: "shopify.sms_marketing_consent"}
IDENTITY_CONTEXT = "shopify.webhook.identity"
#: Audit action of a compliance delivery acknowledged without work.
IGNORED_ACTION = "shopify.webhook_ignored"
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")


def _text(status: int, message: str) -> Response:
    return Response.text(message, status=status)


def delivery_key(request: Request) -> str | None:
    """The key duplicates share: ``X-Shopify-Event-Id``, else ``X-Shopify-Webhook-Id`` (None when neither is
    a plain id)."""
    for header in ("x-shopify-event-id", "x-shopify-webhook-id"):
        value = (request.header(header) or "").strip()
        if _ID.match(value):
            return value
    return None


class ShopifyWebhooks:
    """The webhook endpoint and the outbox handlers that do its work."""

    def __init__(self, sp: ShopPrivacy, options: ShopifyOptions) -> None:
        self.sp = sp
        self.options = options
        self.secret = options.client_secret.get_secret_value().encode("utf-8")
        self.source = f"shopify:{options.shop}"

    def attach(self) -> list[Route]:
        for topic in (DATA_REQUEST, REDACT):
            self.sp.outbox.register(OUTBOX_TOPICS[topic], self.deliver_customer_request)
        self.sp.outbox.register(OUTBOX_TOPICS[SHOP_REDACT], self.deliver_shop_redact)
        self.sp.outbox.register(OUTBOX_TOPICS[EMAIL_CONSENT], self.deliver_email_consent)
        self.sp.outbox.register(OUTBOX_TOPICS[SMS_CONSENT], self.deliver_sms_consent)
        return [Route(name="shopify_webhooks", path=self.options.webhook_path, methods=("POST",),
                      handler=self.handle, csrf_exempt=True, max_body=MAX_BODY)]

    # -- the endpoint -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Plain request in, status out; never raises (4xx for bad input, 503 when the store is down)."""
        try:
            return self._handle(request)
        except (StoreError, SQLAlchemyError) as exc:
            log.warning("shopify webhook not stored (%s); Shopify will retry", type(exc).__name__)
            return Response(503, b"try again later", {"Retry-After": "30", "Content-Type": "text/plain"})
        except InvalidInput:
            return _text(400, "bad request")

    def _handle(self, request: Request) -> Response:
        if request.method != "POST":
            return _text(405, "method not allowed")
        if len(request.body) > MAX_BODY:
            return _text(413, "too large")
        try:
            if not request.body:  # Shopify always sends a JSON body; its own library refuses an empty one
                raise SignatureError("the webhook body is empty")
            verify_base64(self.secret, request.body, request.header("x-shopify-hmac-sha256"))
        except SignatureError:
            return _text(401, "invalid signature")
        shop = (request.header("x-shopify-shop-domain") or "").strip().lower()
        if shop != self.options.shop:
            return _text(404, "not a shop served here")
        topic = request.header("x-shopify-topic") or ""
        if topic == EMAIL_CONSENT:
            return self._email_consent(request)
        if topic == SMS_CONSENT:
            return self._sms_consent(request)
        model = BODIES.get(topic)
        if model is None:  # authentic, but a topic this adapter does no work for
            log.debug("shopify webhook %.60r acknowledged (no work for its topic)", topic)
            return _text(200, "ignored")
        key = delivery_key(request)
        if key is None:
            return self._ignored(topic, "no delivery id", None)
        try:
            body = model.model_validate(request.json(max_bytes=MAX_BODY))
        except ValidationError:
            return self._ignored(topic, "body not of its topic", key)
        if body.shop_domain.strip().lower() != self.options.shop:
            return self._ignored(topic, "body names another shop", key)
        payload = self._payload(topic, key, request.header("x-shopify-webhook-id") or "", body)
        return self._enqueue_once(topic, key, payload)

    def _email_consent(self, request: Request) -> Response:
        """Accept a marketing-consent change once per event; the work (no write before it) is queued."""
        key = delivery_key(request)
        try:
            body = EmailConsentBody.model_validate(request.json(max_bytes=MAX_BODY))
        except ValidationError:
            body = None
        consent = body.email_marketing_consent if body is not None else None
        address = (body.email_address or "").strip() if body is not None else ""
        if key is None or body is None or consent is None or consent.state in (None, "pending") or (
                "@" not in address or any(c.isspace() for c in address)):
            log.info("shopify %s acknowledged without work (no delivery id, address or final state)", EMAIL_CONSENT)
            return _text(200, "ignored")
        at = consent.consent_updated_at
        payload = {"key": key, "shop": self.options.shop, "customer_id": customer_gid(body.customer_id),
                   "email": self.sp.fields.encrypt(address, context=IDENTITY_CONTEXT, row=key),
                   "subscribed": consent.state not in WITHDRAWN, "level": consent.opt_in_level or "unknown",
                   "at": at.isoformat() if at is not None else None,
                   "from": (consent.consent_collected_from or "")[:40] or None}
        return self._enqueue_once(EMAIL_CONSENT, key, payload)

    def _sms_consent(self, request: Request) -> Response:
        """As :meth:`_email_consent` for the SMS consent; the number is sealed in the queued row."""
        key = delivery_key(request)
        try:
            body = SmsConsentBody.model_validate(request.json(max_bytes=MAX_BODY))
        except ValidationError:
            body = None
        consent = body.sms_marketing_consent if body is not None else None
        phone = (body.phone or "").strip() if body is not None else ""
        if key is None or body is None or consent is None or consent.state in (None, "pending") or not phone:
            log.info("shopify %s acknowledged without work (no delivery id, number or final state)", SMS_CONSENT)
            return _text(200, "ignored")
        at = consent.consent_updated_at
        payload = {"key": key, "shop": self.options.shop, "customer_id": customer_gid(body.id),
                   "phone": self.sp.fields.encrypt(phone, context=IDENTITY_CONTEXT, row=key),
                   "subscribed": consent.state not in SMS_WITHDRAWN, "level": consent.opt_in_level or "unknown",
                   "at": at.isoformat() if at is not None else None,
                   "from": (consent.consent_collected_from or "")[:40] or None}
        return self._enqueue_once(SMS_CONSENT, key, payload)

    def _enqueue_once(self, topic: str, key: str, payload: dict[str, Any]) -> Response:
        """Record the delivery in the inbox and queue its work in one transaction, once per delivery key."""
        with self.sp.store.begin() as conn:
            fresh = self.sp.inbox.accept(conn, source=self.source, delivery_id=key, topic=topic)
            if fresh:
                self.sp.outbox.enqueue(conn, OUTBOX_TOPICS[topic], payload, idempotency_key=f"shopify:{key}")
        log.info("shopify webhook %s %s", topic, "accepted" if fresh else "duplicate")
        return Response.json({"ok": True, "duplicate": not fresh})

    def _ignored(self, topic: str, reason: str, key: str | None) -> Response:
        """Acknowledge an authentic compliance delivery that cannot be acted on, and leave a trace of it."""
        log.warning("shopify webhook %s acknowledged without work: %s", topic, reason)
        self.sp.audit.record(actor="shopify", action=IGNORED_ACTION,
                             meta={"topic": topic, "reason": reason, "delivery": key})
        return _text(200, "ignored")

    def _payload(self, topic: str, key: str, webhook_id: str, body: BaseModel) -> dict[str, Any]:
        base = {"key": key, "webhook_id": webhook_id[:120], "shop": self.options.shop}
        if not isinstance(body, CustomerRequestBody):  # shop/redact
            return base
        customer = body.customer

        def seal(value: str | None) -> str | None:
            value = (value or "").strip()
            return self.sp.fields.encrypt(value, context=IDENTITY_CONTEXT, row=key) if value else None

        return {**base, "customer_id": customer_gid(customer.id), "email": seal(customer.email),
                "phone": seal(customer.phone), "orders": [f"gid://shopify/Order/{n}" for n in body.order_ids]}

    # -- the work (outbox handlers) ----------------------------------------------------------------------
    def _rights(self) -> Any:
        rights = getattr(self.sp, "rights", None)
        if rights is None:
            raise RetryLater("the rights capability is not available in this shopprivacy version",
                             retry_after=3600.0)
        return rights

    def deliver_customer_request(self, delivery: Delivery) -> None:
        """Open (idempotently, by delivery key) the export or erasure request Shopify forwarded, with the order
        ids Shopify named (``gid://shopify/Order/N``) for the sources that match on ``order_id``."""
        p = delivery.payload
        key = _key_of(p)
        identity = {"customer_id": str(p["customer_id"])}
        try:
            for name in ("email", "phone"):
                token = p.get(name)
                if token:
                    identity[name] = str(self.sp.fields.decrypt(token, context=IDENTITY_CONTEXT, row=key))
        except TokenError as exc:
            raise PermanentFailure(f"the sealed identity of webhook delivery {key} cannot be read "
                                   f"({type(exc).__name__})") from None
        kind = "export" if delivery.topic == OUTBOX_TOPICS[DATA_REQUEST] else "erase"
        orders = [str(o) for o in p.get("orders") or () if isinstance(o, str)]
        extra: dict[str, Any] = {"orders": orders} if orders else {}  # orders_requested / orders_to_redact
        self._rights().open(kind, identity, channel="shopify", verified_by="shopify",
                            external_id=f"shopify:{key}", **extra)
        log.info("shopify %s request opened for %s", kind,
                 self.sp.pseudonym(identity["customer_id"], namespace="customer"))

    def deliver_shop_redact(self, delivery: Delivery) -> None:
        """Remove everything held for the shop, then forget the shop's webhook deliveries."""
        self._rights().redact_shop(external_id=f"shopify:{_key_of(delivery.payload)}")
        with self.sp.store.begin() as conn:
            forgotten = self.sp.inbox.forget_source(conn, self.source)
        log.info("shopify shop/redact done; %s webhook record(s) forgotten", forgotten)


    def deliver_email_consent(self, delivery: Delivery) -> None:
        """Apply Shopify's e-mail marketing consent to every marketing list (never mirrored back to Shopify)."""
        p = delivery.payload
        key = _key_of(p)
        try:
            address = str(self.sp.fields.decrypt(p["email"], context=IDENTITY_CONTEXT, row=key))
        except TokenError as exc:
            raise PermanentFailure(f"the sealed address of webhook delivery {key} cannot be read "
                                   f"({type(exc).__name__})") from None
        at = datetime.fromisoformat(p["at"]) if p.get("at") else None
        self.sp.email.platform.apply(PlatformConsentUpdate(
            platform="shopify", address=address, subscribed=bool(p["subscribed"]), updated_at=at,
            opt_in_level=p.get("level") or "unknown", customer_ref=str(p["customer_id"]),
            collected_from=p.get("from")))

    def deliver_sms_consent(self, delivery: Delivery) -> None:
        """Apply Shopify's SMS marketing consent to every SMS marketing program (never mirrored back)."""
        p = delivery.payload
        key = _key_of(p)
        try:
            phone = str(self.sp.fields.decrypt(p["phone"], context=IDENTITY_CONTEXT, row=key))
        except TokenError as exc:
            raise PermanentFailure(f"the sealed number of webhook delivery {key} cannot be read "
                                   f"({type(exc).__name__})") from None
        at = datetime.fromisoformat(p["at"]) if p.get("at") else None
        try:
            self.sp.sms.platform.apply(PlatformConsentUpdate(
                platform="shopify", address=phone, subscribed=bool(p["subscribed"]), updated_at=at,
                opt_in_level=p.get("level") or "unknown", customer_ref=str(p["customer_id"]),
                collected_from=p.get("from")))
        except InvalidInput as exc:  # not a valid phone number: retrying cannot help
            raise PermanentFailure(f"webhook delivery {key}: {exc}") from None


def _key_of(payload: Mapping[str, Any]) -> str:
    """The delivery key of queued work (rows queued before event ids were used carry the webhook id only)."""
    return str(payload.get("key") or payload["webhook_id"])


__all__ = ["DATA_REQUEST", "EMAIL_CONSENT", "IGNORED_ACTION", "OUTBOX_TOPICS", "REDACT", "SHOP_REDACT",
           "ShopifyWebhooks", "delivery_key"]
