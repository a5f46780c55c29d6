"""Notices to requesters and the operator: queued in the outbox, addressed at delivery time, sent by the
shop's sender. Addresses and links travel encrypted and bound to the outbox row; nothing personal is logged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from ..errors import RateLimited, RetryLater
from ..limits import client_network, mailbox
from ..platforms import CustomerDirectory, PersonalDataHost
from ..store.outbox import Delivery
from ..tokens import TokenSigner
from . import records
from .builtin import PlatformSource
from .model import Notice, parse_identity
from .tables import attempts, identifiers

if TYPE_CHECKING:
    from ..app import ShopPrivacy
    from .identifier_change import IdentifierChanges
    from .service import Rights
    from .settings import RightsSettings

NOTICE_TOPIC = "rights.notice"
NOTICE_CONTEXT = "sp_outbox.rights"
Sender = Callable[[Notice], None]
_BIDX_KIND = {"email": "email", "phone": "phone", "customer_id": "text"}


class NoticesMixin:
    """The notice half of :class:`~.service.Rights`."""

    sp: ShopPrivacy
    settings: RightsSettings
    _sender: Sender | None
    _verify: TokenSigner
    identifier_changes: IdentifierChanges

    def _audit(self, conn: Connection, row: Any, action: str, *, actor: str = "system", fields: tuple[str, ...] = (),
               **meta: Any) -> None:
        self.sp.audit.append(conn, actor=actor, action=action, subject=row.subject, fields=fields,
                             meta={"request": row.id, "kind": row.kind, **meta})

    def _bidx(self, kind: str, value: str) -> str:
        return self.sp.fields.blind_index(value, kind=_BIDX_KIND[kind])  # type: ignore[arg-type]

    def _url(self, path: str, token: str) -> str:
        base = self.sp.settings.public_base_url + self.settings.path_prefix.rstrip("/")
        return f"{base}{path}?{urlencode({'t': token})}"

    @property
    def platform_source(self) -> PlatformSource | None:
        sp = self.sp
        if not sp.uses_platform or not isinstance(sp.adapter, PersonalDataHost):
            return None
        return PlatformSource(cast("Rights", self), sp.adapter)

    def verify_link(self, request_id: str, kind: str, bidx: str) -> str:
        return self._url("/rights/verify", self._verify.sign({"r": request_id, "k": kind, "b": bidx}))

    def _rate_limit(self, conn: Connection, ids: Mapping[str, str], ip: str | None, now: datetime) -> None:
        """Count this attempt against each identifier and the client's IP; RateLimited past a limit.

        The keys are keyed hashes of the limit forms of :mod:`shopprivacy.limits`: the ``+tag`` and Gmail dot
        variants of an address share its limit, and so do the addresses of one IPv6 /64."""
        since = now - timedelta(hours=self.settings.rate_window_hours)
        keys = [(self._bidx(k, mailbox(v) if k == "email" else v), self.settings.rate_limit_identity)
                for k, v in ids.items()]
        if ip:
            keys.append((self.sp.keyring.keyed_hash(client_network(ip), namespace="ip"), self.settings.rate_limit_ip))
        for key, limit in keys:
            n = conn.execute(select(func.count()).select_from(attempts).where(
                attempts.c.key == key, attempts.c.at > since)).scalar_one()
            if n >= limit:
                raise RateLimited("too many requests for this identity or from this address; try again later")
        conn.execute(attempts.insert(), [{"key": key, "at": now} for key, _ in keys])

    def notify(self, conn: Connection, request_id: str | None, kind: str, to: str, *, link: str | None = None,
               address: str | None = None, suffix: str = "") -> None:
        """Queue a notice; links and addresses travel encrypted, bound to the outbox row's key."""
        key = f"rights:{request_id or '-'}:{kind}:{to}:{suffix}"[:200]
        payload: dict[str, Any] = {"request": request_id, "notice": kind, "to": to}
        if link is not None:
            payload["link"] = self.sp.fields.encrypt(link, context=NOTICE_CONTEXT, row=key)
        if address is not None:
            payload["address"] = self.sp.fields.encrypt(address, context=NOTICE_CONTEXT, row=key)
        self.sp.outbox.enqueue(conn, NOTICE_TOPIC, payload, idempotency_key=key)

    def notify_requester(self, conn: Connection, row: Any, kind: str, *, link: str | None = None,
                         suffix: str = "") -> None:
        """A notice to the verified e-mail address (else phone, else the customer's address on file)."""
        verified = {i.kind for i in records.identifier_rows(conn, row.id) if i.verified_at is not None}
        for to in ("email", "phone", "customer_id"):
            if to in verified:
                self.notify(conn, row.id, kind, to, link=link, suffix=suffix)
                return

    # -- notices --------------------------------------------------------------------------------------
    def _recipient(self, conn: Connection, payload: Mapping[str, Any], key: str) -> tuple[str, str, Any] | None:
        to = str(payload.get("to"))
        if to == "operator":
            return ("operator", self.settings.operator_email, None) if self.settings.operator_email else None
        if to == "address":
            value = self.sp.fields.decrypt(payload.get("address"), context=NOTICE_CONTEXT, row=key)
            return ("email", value, None) if isinstance(value, str) else None
        ident = conn.execute(select(identifiers).where(identifiers.c.request_id == payload.get("request"),
                                                       identifiers.c.kind == to)).first()
        value = None if ident is None else records.decrypt_identifier(self.sp, ident)
        if value is None:
            return None  # identifiers were dropped meanwhile: nothing to send
        if to == "customer_id":  # a customer id is reached at the address on file
            adapter = self.sp.adapter if self.platform_source is not None else None
            found = adapter.find_customer(customer_id=value) if isinstance(adapter, CustomerDirectory) else None
            return None if found is None or not found.email else ("email", found.email, ident)
        return ("sms" if to in ("phone", "new_phone") else "email", value, ident)

    def _deliver_notice(self, delivery: Delivery) -> None:
        if self._sender is None:
            raise RetryLater("no rights notice sender is configured (sp.rights.set_sender)")
        p, now = delivery.payload, self.sp.clock()
        with self.sp.store.begin(write=False) as conn:
            row = records.load(conn, p["request"]) if p.get("request") else None
            found = self._recipient(conn, p, delivery.idempotency_key)
            shown = self.identifier_changes.shown_for(conn, row) if row is not None and row.kind == "rectify" else ()
        if found is None:
            return
        channel, to, ident = found
        link = None
        if p.get("link"):
            link = self.sp.fields.decrypt(p["link"], context=NOTICE_CONTEXT, row=delivery.idempotency_key)
        elif p["notice"] == "verify" and row is not None and ident is not None:
            link = self.verify_link(row.id, ident.kind, ident.bidx)
        elif p["notice"] == "verify_new" and row is not None and ident is not None:
            link = self.identifier_changes.link(row.id, ident)
        elif p["notice"] == "preferences":
            email = self.sp.email
            if not email.history(to) and not any(email.is_suppressed(to, lid) for lid in email.settings.lists):
                return  # not on any list: nothing to manage, and the portal said the same either way
            link = self.sp.email.preferences_url(to)
        request = records.to_request(row) if row is not None else None
        self._sender(Notice(kind=str(p["notice"]), channel=channel, to=to, link=link,
                            locale=row.locale if row is not None else self.sp.settings.default_locale,
                            request=request, changes=shown))
        if row is None or channel == "operator":
            return
        with self.sp.store.begin() as conn:
            if row.regime == "ccpa" and row.acknowledged_at is None:
                records.set_state(conn, row.id, now, acknowledged_at=now)
                self._audit(conn, row, "rights.acknowledged")
            if p["notice"] in ("done", "done_platform_pending") and row.kind == "erase":
                conn.execute(update(identifiers).where(identifiers.c.request_id == row.id).values(value=None))

    def preferences_notice(self, address: str, *, ip: str | None = None) -> None:
        """Mail the e-mail preference link to ``address`` when it is on a list (neutral either way)."""
        email = parse_identity({"email": address})["email"]
        now, bidx = self.sp.clock(), self._bidx("email", email)
        with self.sp.store.begin() as conn:
            self._rate_limit(conn, {"email": email}, ip, now)
            self.notify(conn, None, "preferences", "address", address=email, suffix=f"{bidx}:{now.isoformat()}")


