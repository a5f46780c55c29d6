"""Shopify webhooks, framework-neutral: verify, deduplicate, enqueue, answer fast.

One endpoint (``webhook_path``, default ``/webhooks/shopify`` below the integration's prefix) receives
every topic. The handler checks ``X-Shopify-Hmac-Sha256`` over the raw body (401 when bad or missing),
answers 404 for a shop other than the configured one (the delivery is authentic but not ours to keep),
accepts the delivery in the inbox by ``X-Shopify-Webhook-Id`` and enqueues its work in the same
transaction, then answers 200. The work runs later in ``run-due``: the mandatory compliance topics open
rights requests (``customers/data_request`` → export, ``customers/redact`` → erase) and remove everything
held for the shop (``shop/redact``). E-mail addresses and phone numbers from the payload are encrypted
with ``sp.fields`` before they reach the outbox; logs carry topics, pseudonyms and counts only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError

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

from .customers import customer_gid
from .options import ShopifyOptions

if TYPE_CHECKING:
    from shopprivacy.app import ShopPrivacy

log = logging.getLogger("shopprivacy.shopify.webhooks")

MAX_BODY = 512 * 1024
DATA_REQUEST, REDACT, SHOP_REDACT = "customers/data_request", "customers/redact", "shop/redact"
#: Outbox topics of the compliance work.
OUTBOX_TOPICS = {DATA_REQUEST: "shopify.customers_data_request", REDACT: "shopify.customers_redact",
                 SHOP_REDACT: "shopify.shop_redact"}
IDENTITY_CONTEXT = "shopify.webhook.identity"
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")
_TOPIC = re.compile(r"^[a-z_]{1,40}/[a-z_]{1,60}$")


class _Customer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int = Field(ge=1, lt=10**20)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)


class _CustomerPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    shop_id: int = Field(ge=1, lt=10**20)
    shop_domain: str = Field(max_length=120)
    customer: _Customer
    orders_requested: list[int] = Field(default_factory=list, max_length=10_000)
    orders_to_redact: list[int] = Field(default_factory=list, max_length=10_000)


class _ShopPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    shop_id: int = Field(ge=1, lt=10**20)
    shop_domain: str = Field(max_length=120)


def _text(status: int, message: str) -> Response:
    return Response.text(message, status=status)


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
            verify_base64(self.secret, request.body, request.header("x-shopify-hmac-sha256"))
        except SignatureError:
            return _text(401, "invalid signature")
        topic = request.header("x-shopify-topic") or ""
        webhook_id = request.header("x-shopify-webhook-id") or ""
        shop = (request.header("x-shopify-shop-domain") or "").strip().lower()
        if not _TOPIC.match(topic) or not _ID.match(webhook_id) or not shop:
            return _text(400, "missing or malformed webhook headers")
        if shop != self.options.shop:
            return _text(404, "not a shop served here")
        if topic not in OUTBOX_TOPICS:
            return _text(200, "ignored")  # authentic, but a topic this adapter does no work for
        data = request.json(max_bytes=MAX_BODY)
        if not isinstance(data, dict):
            return _text(400, "the body is not a JSON object")
        try:
            payload = self._payload(topic, webhook_id, data)
        except ValidationError:
            return _text(400, "the body does not have the topic's shape")
        if payload is None:
            return _text(400, "the body names another shop")
        with self.sp.store.begin() as conn:
            fresh = self.sp.inbox.accept(conn, source=self.source, delivery_id=webhook_id, topic=topic)
            if fresh:
                self.sp.outbox.enqueue(conn, OUTBOX_TOPICS[topic], payload, idempotency_key=f"shopify:{webhook_id}")
        log.info("shopify webhook %s %s", topic, "accepted" if fresh else "duplicate")
        return Response.json({"ok": True, "duplicate": not fresh})

    def _payload(self, topic: str, webhook_id: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if topic == SHOP_REDACT:
            shop_body = _ShopPayload.model_validate(data)
            if shop_body.shop_domain.lower() != self.options.shop:
                return None
            return {"webhook_id": webhook_id, "shop": self.options.shop, "shop_id": shop_body.shop_id}
        body = _CustomerPayload.model_validate(data)
        if body.shop_domain.lower() != self.options.shop:
            return None
        orders = body.orders_requested if topic == DATA_REQUEST else body.orders_to_redact

        def seal(value: str | None) -> str | None:
            value = (value or "").strip()
            return self.sp.fields.encrypt(value, context=IDENTITY_CONTEXT, row=webhook_id) if value else None

        return {"webhook_id": webhook_id, "shop": self.options.shop, "customer_id": customer_gid(body.customer.id),
                "email": seal(body.customer.email), "phone": seal(body.customer.phone),
                "orders": [f"gid://shopify/Order/{n}" for n in orders[:10_000]]}

    # -- the work (outbox handlers) ----------------------------------------------------------------------
    def _rights(self) -> Any:
        rights = getattr(self.sp, "rights", None)
        if rights is None:
            raise RetryLater("the rights capability is not available in this shopprivacy version",
                             retry_after=3600.0)
        return rights

    def deliver_customer_request(self, delivery: Delivery) -> None:
        """Open (idempotently, by webhook id) the export or erasure request Shopify forwarded, with the order
        ids Shopify named (``gid://shopify/Order/N``) for the sources that match on ``order_id``."""
        p = delivery.payload
        webhook_id = str(p["webhook_id"])
        identity = {"customer_id": str(p["customer_id"])}
        try:
            for key in ("email", "phone"):
                token = p.get(key)
                if token:
                    identity[key] = str(self.sp.fields.decrypt(token, context=IDENTITY_CONTEXT, row=webhook_id))
        except TokenError as exc:
            raise PermanentFailure(f"the sealed identity of webhook {webhook_id} cannot be read "
                                   f"({type(exc).__name__})") from None
        kind = "export" if delivery.topic == OUTBOX_TOPICS[DATA_REQUEST] else "erase"
        orders = [str(o) for o in p.get("orders") or () if isinstance(o, str)]
        extra: dict[str, Any] = {"orders": orders} if orders else {}  # orders_requested / orders_to_redact
        self._rights().open(kind, identity, channel="shopify", verified_by="shopify",
                            external_id=f"shopify:{webhook_id}", **extra)
        log.info("shopify %s request opened for %s", kind,
                 self.sp.pseudonym(identity["customer_id"], namespace="customer"))

    def deliver_shop_redact(self, delivery: Delivery) -> None:
        """Remove everything held for the shop, then forget the shop's webhook deliveries."""
        webhook_id = str(delivery.payload["webhook_id"])
        self._rights().redact_shop(external_id=f"shopify:{webhook_id}")
        with self.sp.store.begin() as conn:
            forgotten = self.sp.inbox.forget_source(conn, self.source)
        log.info("shopify shop/redact done; %s webhook record(s) forgotten", forgotten)


__all__ = ["DATA_REQUEST", "OUTBOX_TOPICS", "REDACT", "SHOP_REDACT", "ShopifyWebhooks"]
