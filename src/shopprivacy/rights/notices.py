"""Notices to requesters and the operator: queued in the outbox (:class:`NoticeQueue`), addressed at delivery
time and sent by the shop's sender (:class:`NoticeDelivery`). Addresses and links travel encrypted and bound to
the outbox row; nothing personal is logged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..errors import RetryLater
from ..platforms import CustomerDirectory
from ..store.outbox import Delivery
from . import records
from .model import Notice
from .tables import identifiers

if TYPE_CHECKING:
    from ..email.service import Email
    from .identifier_change import IdentifierChanges
    from .kit import RightsKit
    from .registry import SourceRegistry
    from .verification import Verification

NOTICE_TOPIC = "rights.notice"
NOTICE_CONTEXT = "sp_outbox.rights"
Sender = Callable[[Notice], None]


class NoticeQueue:
    """Queues notices in the caller's transaction; :class:`NoticeDelivery` sends them."""

    def __init__(self, kit: RightsKit) -> None:
        self.kit = kit

    def notify(self, conn: Connection, request_id: str | None, kind: str, to: str, *, link: str | None = None,
               address: str | None = None, suffix: str = "", message: str | None = None) -> None:
        """Queue a notice; links and addresses travel encrypted, bound to the outbox row's key."""
        key = f"rights:{request_id or '-'}:{kind}:{to}:{suffix}"[:200]
        payload: dict[str, Any] = {"request": request_id, "notice": kind, "to": to}
        if link is not None:
            payload["link"] = self.kit.fields.encrypt(link, context=NOTICE_CONTEXT, row=key)
        if address is not None:
            payload["address"] = self.kit.fields.encrypt(address, context=NOTICE_CONTEXT, row=key)
        if message is not None:
            payload["message"] = self.kit.fields.encrypt(message, context=NOTICE_CONTEXT, row=key)
        self.kit.outbox.enqueue(conn, NOTICE_TOPIC, payload, idempotency_key=key)

    def notify_requester(self, conn: Connection, row: Any, kind: str, *, link: str | None = None,
                         suffix: str = "", message: str | None = None) -> None:
        """A notice to the verified e-mail address (else phone, else the customer's address on file)."""
        verified = {i.kind for i in records.identifier_rows(conn, row.id) if i.verified_at is not None}
        for to in ("email", "phone", "customer_id"):
            if to in verified:
                self.notify(conn, row.id, kind, to, link=link, suffix=suffix, message=message)
                return


class NoticeDelivery:
    """The outbox handler of :data:`NOTICE_TOPIC`: finds the recipient, builds the link, calls the sender."""

    def __init__(self, kit: RightsKit, email: Email, registry: SourceRegistry, verification: Verification,
                 identifier_changes: IdentifierChanges) -> None:
        self.kit, self.email, self.registry = kit, email, registry
        self.verification, self.identifier_changes = verification, identifier_changes
        self.sender: Sender | None = None

    def _recipient(self, conn: Connection, payload: Mapping[str, Any], key: str) -> tuple[str, str, Any] | None:
        to = str(payload.get("to"))
        settings = self.kit.settings
        if to == "operator":
            return ("operator", settings.operator_email, None) if settings.operator_email else None
        if to == "address":
            value = self.kit.fields.decrypt(payload.get("address"), context=NOTICE_CONTEXT, row=key)
            return ("email", value, None) if isinstance(value, str) else None
        ident = conn.execute(select(identifiers).where(identifiers.c.request_id == payload.get("request"),
                                                       identifiers.c.kind == to)).first()
        value = None if ident is None else records.decrypt_identifier(self.kit.fields, ident)
        if value is None:
            return None  # identifiers were dropped meanwhile: nothing to send
        if to == "customer_id":  # a customer id is reached at the address on file
            platform = self.registry.platform_source
            adapter = platform.adapter if platform is not None else None
            found = adapter.find_customer(customer_id=value) if isinstance(adapter, CustomerDirectory) else None
            return None if found is None or not found.email else ("email", found.email, ident)
        return ("sms" if to in ("phone", "new_phone") else "email", value, ident)

    def deliver(self, delivery: Delivery) -> None:
        """Send one queued notice (RetryLater until a sender is set)."""
        if self.sender is None:
            raise RetryLater("no rights notice sender is configured (sp.rights.set_sender)")
        p, now, fields = delivery.payload, self.kit.clock(), self.kit.fields
        with self.kit.store.begin(write=False) as conn:
            row = records.load(conn, p["request"]) if p.get("request") else None
            found = self._recipient(conn, p, delivery.idempotency_key)
            shown = self.identifier_changes.shown_for(conn, row) if row is not None and row.kind == "rectify" else ()
        if found is None:
            return
        channel, to, ident = found
        link = None
        if p.get("link"):
            link = fields.decrypt(p["link"], context=NOTICE_CONTEXT, row=delivery.idempotency_key)
        elif p["notice"] == "verify" and row is not None and ident is not None:
            link = self.verification.link(row.id, ident.kind, ident.bidx)
        elif p["notice"] == "verify_new" and row is not None and ident is not None:
            link = self.identifier_changes.link(row.id, ident)
        elif p["notice"] == "preferences":
            email = self.email
            if not email.subjects.history(to) and not any(email.is_suppressed(to, lid) for lid in email.settings.lists):
                return  # not on any list: nothing to manage, and the portal said the same either way
            link = email.preferences_url(to)
        request = records.to_request(row) if row is not None else None
        message = (fields.decrypt(p["message"], context=NOTICE_CONTEXT, row=delivery.idempotency_key)
                   if p.get("message") else None)
        self.sender(Notice(message=message, kind=str(p["notice"]), channel=channel, to=to, link=link,
                           locale=row.locale if row is not None else self.kit.default_locale,
                           request=request, changes=shown))
        if row is None or channel == "operator":
            return
        with self.kit.store.begin() as conn:
            if row.regime == "ccpa" and row.acknowledged_at is None:
                records.set_state(conn, row.id, now, acknowledged_at=now)
                self.kit.audit_request(conn, row, "rights.acknowledged")
            if p["notice"] in ("done", "done_platform_pending") and row.kind == "erase":
                conn.execute(update(identifiers).where(identifiers.c.request_id == row.id).values(value=None))
