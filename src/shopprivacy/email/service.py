"""``sp.email``: unsubscribe links, suppression, double opt-in, preferences, proof, platform propagation."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from ..errors import (
    BadToken,
    ExpiredToken,
    InvalidInput,
    NotFoundError,
    RateLimited,
    ShreddedError,
    SuppressedRecipient,
)
from ..fields.blind_index import normalise
from ..platforms import CustomerDirectory, MarketingConsentSink, MarketingConsentUpdate
from ..store.outbox import Delivery
from ..tokens import TokenSigner
from . import records
from .records import Meta
from .settings import EmailSettings, MailingList
from .tables import email_subjects, pending_opt_ins

if TYPE_CHECKING:
    from ..app import ShopPrivacy

log = logging.getLogger("shopprivacy.email")
TOPIC = "email.marketing_consent"
ALL = "*"


@dataclass(frozen=True)
class Change:
    """The outcome of an unsubscribe, confirmation or preference change."""

    subject: str
    list_id: str
    changed: bool  # False when the state already was what was asked (idempotent repeat)


class Email:
    """E-mail consent for one shop. Addresses are kept only as blind indexes and subject-key tokens."""

    def __init__(self, sp: ShopPrivacy) -> None:
        self.sp = sp
        self.settings: EmailSettings = sp.settings.email
        self._unsubscribe = TokenSigner(sp.keyring, "unsubscribe")
        self._confirm = TokenSigner(sp.keyring, "opt-in")
        self._preferences = TokenSigner(sp.keyring, "preferences")
        sp.outbox.register(TOPIC, self._deliver)

    # -- identities -----------------------------------------------------------------------------------
    def mailing_list(self, list_id: str) -> MailingList:
        """The declared list; NotFoundError for an unknown id."""
        try:
            return self.settings.lists[list_id]
        except KeyError:
            raise NotFoundError(f"unknown mailing list {list_id!r}") from None

    def subject_of(self, address: str) -> str:
        """The opaque subject of an address: a keyed pseudonym, stable, never the address."""
        return self.sp.keyring.pseudonym(normalise(address, "email"), namespace="email", length=24)

    def _bidx(self, address: str) -> str:
        return self.sp.fields.blind_index(address, kind="email", bits=128)

    def register(self, conn: Connection, address: str, *, customer_ref: str | None = None) -> tuple[str, str]:
        """Record the address (encrypted under its subject key) in ``conn``; returns (subject, blind index)."""
        subject, bidx = self.subject_of(address), self._bidx(address)
        if records.subject_row(conn, subject) is None:
            token = self.sp.fields.encrypt(normalise(address, "email"), context="sp_email_subjects.address",
                                           row=subject, subject=subject, conn=conn)
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=token,
                                   customer_ref=customer_ref, now=self.sp.clock())
        elif customer_ref is not None:
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=None,
                                   customer_ref=customer_ref, now=self.sp.clock())
        return subject, bidx

    def meta(self, *, source: str = "web", ip: str | None = None, user_agent: str | None = None,
             text_version: str | None = None) -> Meta:
        """Proof metadata with IP address and user agent as keyed hashes."""
        ring = self.sp.keyring
        return Meta(source=source, text_version=text_version,
                    ip_hash=ring.keyed_hash(ip, namespace="ip") if ip else None,
                    ua_hash=ring.keyed_hash(user_agent[:500], namespace="user-agent") if user_agent else None)

    # -- links ----------------------------------------------------------------------------------------
    def _url(self, path: str, token: str) -> str:
        base = self.sp.settings.public_base_url + self.settings.path_prefix.rstrip("/")
        return f"{base}{path}?{urlencode({'t': token})}"

    def unsubscribe_url(self, address: str, list_id: str, *, customer_ref: str | None = None) -> str:
        """A signed one-click unsubscribe link for ``address`` on ``list_id`` (``"*"``: every list)."""
        if list_id != ALL:
            self.mailing_list(list_id)
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address, customer_ref=customer_ref)
        return self._url("/unsubscribe", self._unsubscribe.sign({"s": subject, "l": list_id}))

    def fresh_unsubscribe_token(self, expired: ExpiredToken) -> str | None:
        """A new token for the subject and list of an authentic but expired unsubscribe link."""
        p = expired.payload
        if not isinstance(p, dict) or not isinstance(p.get("s"), str) or not isinstance(p.get("l"), str):
            return None
        return self._unsubscribe.sign({"s": p["s"], "l": p["l"]})

    def headers(self, address: str, list_id: str, *, customer_ref: str | None = None) -> dict[str, str]:
        """``List-Unsubscribe`` (HTTPS, optional mailto) and ``List-Unsubscribe-Post`` (RFC 8058)."""
        links = [f"<{self.unsubscribe_url(address, list_id, customer_ref=customer_ref)}>"]
        if self.settings.unsubscribe_mailto:
            links.append(f"<mailto:{self.settings.unsubscribe_mailto}?subject=unsubscribe>")
        return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}

    def guard(self, address: str, list_id: str) -> None:
        """Raise SuppressedRecipient unless a marketing mail to ``address`` on ``list_id`` may be sent.
        Transactional lists are never blocked."""
        if self.mailing_list(list_id).kind == "transactional":
            return
        if self.is_suppressed(address, list_id) or self.is_paused(address, list_id):
            raise SuppressedRecipient(f"the recipient unsubscribed from or paused {list_id!r}; not sending")

    def prepare(self, message: EmailMessage, list_id: str, *, customer_ref: str | None = None) -> EmailMessage:
        """Check the recipient (``To``) with :meth:`guard` and add the unsubscribe headers to ``message``."""
        to = message.get("To")
        if not to or "," in to:
            raise InvalidInput("prepare() takes a message with exactly one recipient in To")
        address = to.split("<")[-1].rstrip(">").strip()
        self.guard(address, list_id)
        if self.mailing_list(list_id).kind == "marketing":
            for name, value in self.headers(address, list_id, customer_ref=customer_ref).items():
                del message[name]
                message[name] = value
        return message

    def preferences_url(self, address: str) -> str:
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address)
        return self._url("/email/preferences", self._preferences.sign({"s": subject}))

    # -- unsubscribe and suppression --------------------------------------------------------------------
    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        """(subject, list id) of a valid unsubscribe token; BadToken, ExpiredToken or NotFoundError."""
        payload = self._unsubscribe.verify(token, max_age_seconds=self.settings.unsubscribe_max_age_days * 86400)
        subject, list_id = payload.get("s"), payload.get("l")
        if not isinstance(subject, str) or not isinstance(list_id, str):
            raise BadToken("the unsubscribe link is not valid")
        if list_id != ALL:
            self.mailing_list(list_id)
        return subject, list_id

    def unsubscribe(self, token: str, meta: Meta | None = None) -> Change:
        """Unsubscribe the token's subject from its list. Idempotent; committed before it returns."""
        subject, list_id = self.read_unsubscribe(token)
        return self._opt_out(subject, list_id, meta or Meta(source="unsubscribe-link"), reason="unsubscribed")

    def unsubscribe_address(self, address: str, list_id: str = ALL, *, meta: Meta | None = None) -> Change:
        """Unsubscribe by address (a reply, a support request, a bounce policy)."""
        if list_id != ALL:
            self.mailing_list(list_id)
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address)
        return self._opt_out(subject, list_id, meta or Meta(source="direct"), reason="unsubscribed")

    def _opt_out(self, subject: str, list_id: str, meta: Meta, *, reason: str) -> Change:
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = records.subject_row(conn, subject)
            if row is None:
                raise NotFoundError("the unsubscribe link names an address this shop does not hold")
            lists = list(self.settings.lists) if list_id == ALL else [list_id]
            changed = [lid for lid in lists
                       if records.set_state(conn, subject=subject, list_id=lid, state="unsubscribed",
                                            level="unknown", now=now)]
            newly = records.suppress(conn, bidx=row.address_bidx, list_id=list_id, reason=reason, now=now)
            if changed or newly:
                records.prove(conn, subject=subject, bidx=row.address_bidx, list_id=list_id, action="unsubscribed",
                              meta=meta, now=now)
                self.sp.audit.append(conn, actor=meta.source, action="email.unsubscribed", subject=subject,
                                     fields=["email"], meta={"list": list_id})
                for lid in changed or lists:
                    self._propagate(conn, subject, lid, subscribed=False, level="unknown", now=now)
        log.info("unsubscribed %s from %s", subject, list_id)
        return Change(subject, list_id, bool(changed) or newly)

    def suppress(self, address: str, list_id: str = ALL, *, reason: str = "manual") -> None:
        """Add an address to the suppression list (bounces, complaints, requests by other channels)."""
        if list_id != ALL:
            self.mailing_list(list_id)
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            subject, bidx = self.register(conn, address)
            records.suppress(conn, bidx=bidx, list_id=list_id, reason=reason[:40], now=now)
            self.sp.audit.append(conn, actor="system", action="email.suppressed", subject=subject,
                                 fields=["email"], meta={"list": list_id, "reason": reason[:40]})

    def is_suppressed(self, address: str, list_id: str | None = None) -> bool:
        """True when ``address`` must not receive marketing on ``list_id``; with ``None``: when it is suppressed
        from every list."""
        with self.sp.store.begin(write=False) as conn:
            return records.is_suppressed(conn, self._bidx(address), list_id)

    def _propagate(self, conn: Connection, subject: str, list_id: str, *, subscribed: bool, level: str,
                   now: datetime) -> None:
        key = f"{TOPIC}:{subject}:{list_id}:{'in' if subscribed else 'out'}:{now.isoformat()}"
        self.sp.outbox.enqueue(conn, TOPIC, {"subject": subject, "list": list_id, "subscribed": subscribed,
                                             "level": level, "at": now.isoformat()}, idempotency_key=key[:200])

    def _deliver(self, delivery: Delivery) -> None:
        adapter = self.sp.adapter
        if not isinstance(adapter, MarketingConsentSink):
            return  # the platform keeps no marketing consent: nothing to mirror
        p = delivery.payload
        with self.sp.store.begin(write=False) as conn:
            row = records.subject_row(conn, str(p["subject"]))
        if row is None:
            return
        try:
            address = self.sp.fields.decrypt(row.address, context="sp_email_subjects.address", row=row.subject)
        except ShreddedError:
            address = None  # erased meanwhile: the platform id alone (if any) still carries the opt-out
        customer_id = row.customer_ref
        if customer_id is None and isinstance(adapter, CustomerDirectory) and address:
            found = adapter.find_customer(email=address)
            if found is None:
                return  # a subscriber who is not a customer of the platform: nothing to mirror
            customer_id = found.id
        if customer_id is None and not address:
            return
        adapter.set_marketing_consent(MarketingConsentUpdate(
            list_id=str(p["list"]), subscribed=bool(p["subscribed"]), opt_in_level=p["level"],
            consent_updated_at=datetime.fromisoformat(str(p["at"])), customer_id=customer_id, email=address),
            idempotency_key=delivery.idempotency_key)

    # -- double opt-in ----------------------------------------------------------------------------------
    def request_opt_in(self, address: str, list_id: str, *, source: str, consent_text_version: str,
                       ip: str | None = None, user_agent: str | None = None,
                       customer_ref: str | None = None) -> str:
        """Store a pending opt-in and return the confirmation link to mail. RateLimited past the limit."""
        self.mailing_list(list_id)
        if not consent_text_version or len(consent_text_version) > 120 or not source or len(source) > 120:
            raise InvalidInput("source and consent_text_version are required (at most 120 characters)")
        now, s = self.sp.clock(), self.settings
        meta = self.meta(source=source, ip=ip, user_agent=user_agent, text_version=consent_text_version)
        with self.sp.store.begin() as conn:
            subject, bidx = self.register(conn, address, customer_ref=customer_ref)
            row = conn.execute(select(pending_opt_ins).where(
                pending_opt_ins.c.address_bidx == bidx, pending_opt_ins.c.list_id == list_id,
                pending_opt_ins.c.confirmed_at.is_(None), pending_opt_ins.c.expires_at > now)).first()
            expires = now + timedelta(hours=s.confirm_max_age_hours)
            if row is None:
                pending_id = secrets.token_hex(12)
                conn.execute(pending_opt_ins.insert().values(
                    id=pending_id, subject=subject, address_bidx=bidx, list_id=list_id,
                    text_version=consent_text_version, source=source, ip_hash=meta.ip_hash, ua_hash=meta.ua_hash,
                    requested_at=now, expires_at=expires, sends=1, window_started_at=now))
            else:
                pending_id = row.id
                in_window = row.window_started_at > now - timedelta(hours=s.resend_window_hours)
                if in_window and row.sends >= s.resend_limit:
                    raise RateLimited("too many confirmation mails for this address; try again later")
                conn.execute(update(pending_opt_ins).where(pending_opt_ins.c.id == pending_id).values(
                    sends=row.sends + 1 if in_window else 1, window_started_at=row.window_started_at
                    if in_window else now, expires_at=expires, text_version=consent_text_version, source=source))
            records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action="opt_in_requested", meta=meta,
                          now=now)
        return self._url("/email/confirm", self._confirm.sign({"p": pending_id}))

    def confirm_opt_in(self, token: str, *, ip: str | None = None, user_agent: str | None = None) -> Change:
        """Confirm a pending opt-in: proof (time, list, text version, source, hashed IP and UA), audited."""
        payload = self._confirm.verify(token, max_age_seconds=self.settings.confirm_max_age_hours * 3600)
        pending_id = payload.get("p")
        if not isinstance(pending_id, str):
            raise BadToken("the confirmation link is not valid")
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = conn.execute(select(pending_opt_ins).where(pending_opt_ins.c.id == pending_id)).first()
            if row is None:
                raise ExpiredToken("the confirmation link has expired")
            if row.confirmed_at is not None:
                return Change(row.subject, row.list_id, False)
            if row.expires_at <= now:
                raise ExpiredToken("the confirmation link has expired")
            conn.execute(update(pending_opt_ins).where(pending_opt_ins.c.id == pending_id).values(confirmed_at=now))
            records.set_state(conn, subject=row.subject, list_id=row.list_id, state="subscribed",
                              level="confirmed_opt_in", now=now)
            self._lift_suppression(conn, row.address_bidx, row.list_id, now)
            meta = self.meta(source=row.source, ip=ip, user_agent=user_agent, text_version=row.text_version)
            records.prove(conn, subject=row.subject, bidx=row.address_bidx, list_id=row.list_id,
                          action="opt_in_confirmed", meta=meta, now=now)
            self.sp.audit.append(conn, actor="subscriber", action="email.opt_in_confirmed", subject=row.subject,
                                 fields=["email"], meta={"list": row.list_id, "text_version": row.text_version})
            self._propagate(conn, row.subject, row.list_id, subscribed=True, level="confirmed_opt_in", now=now)
        return Change(row.subject, row.list_id, True)

    def _lift_suppression(self, conn: Connection, bidx: str, list_id: str, now: datetime) -> None:
        """An explicit, confirmed opt-in to one list lifts the suppression for that list only."""
        if records.is_suppressed(conn, bidx, None):  # an "all lists" opt-out: keep it for the other lists
            records.unsuppress(conn, bidx=bidx, list_id=ALL)
            for other in self.settings.lists:
                if other != list_id:
                    records.suppress(conn, bidx=bidx, list_id=other, reason="unsubscribed", now=now)
        records.unsuppress(conn, bidx=bidx, list_id=list_id)

    # -- preference centre ------------------------------------------------------------------------------
    def read_preferences(self, token: str) -> tuple[str, dict[str, str]]:
        """(subject, {list id: state}) for a preference-centre token."""
        payload = self._preferences.verify(token, max_age_seconds=self.settings.preferences_max_age_days * 86400)
        subject = payload.get("s")
        if not isinstance(subject, str):
            raise BadToken("the preferences link is not valid")
        with self.sp.store.begin(write=False) as conn:
            if records.subject_row(conn, subject) is None:
                raise NotFoundError("the preferences link names an address this shop does not hold")
            current = records.states(conn, subject)
        now = self.sp.clock()
        out = {}
        for lid in self.settings.lists:
            row = current.get(lid)
            state = "not_subscribed" if row is None else row.state
            if state == "paused" and row is not None and row.paused_until is not None and row.paused_until <= now:
                state = "subscribed"
            out[lid] = state
        return subject, out

    def update_preferences(self, token: str, wanted: Mapping[str, bool], *, pause_days: int | None = None,
                           meta: Meta | None = None) -> list[Change]:
        """Apply choices from the preference centre. Subscribing here needs an existing confirmed opt-in
        for that list (a preference page cannot create consent); leaving or pausing always works."""
        subject, current = self.read_preferences(token)
        unknown = set(wanted) - set(self.settings.lists)
        if unknown:
            raise NotFoundError(f"unknown mailing list(s): {', '.join(sorted(unknown))}")
        meta = meta or Meta(source="preference-centre")
        changes: list[Change] = []
        now = self.sp.clock()
        if pause_days is not None and not 1 <= pause_days <= 365:
            raise InvalidInput("a pause lasts 1 to 365 days")
        for lid, subscribe in wanted.items():
            state = current[lid]
            if not subscribe and state in ("subscribed", "paused"):
                changes.append(self._opt_out(subject, lid, meta, reason="unsubscribed"))
            elif subscribe and state == "unsubscribed":
                changes.append(self._resubscribe(subject, lid, meta, now))
            elif subscribe and pause_days and state == "subscribed":
                changes.append(self._pause(subject, lid, meta, now + timedelta(days=pause_days), now))
        return changes

    def _resubscribe(self, subject: str, list_id: str, meta: Meta, now: datetime) -> Change:
        with self.sp.store.begin() as conn:
            confirmed = conn.execute(select(pending_opt_ins.c.id).where(
                pending_opt_ins.c.subject == subject, pending_opt_ins.c.list_id == list_id,
                pending_opt_ins.c.confirmed_at.is_not(None)).limit(1)).first()
            if confirmed is None:
                raise InvalidInput("subscribing to this list needs a confirmed opt-in first")
            row = records.subject_row(conn, subject)
            records.set_state(conn, subject=subject, list_id=list_id, state="subscribed", level="confirmed_opt_in",
                              now=now)
            self._lift_suppression(conn, row.address_bidx, list_id, now)
            records.prove(conn, subject=subject, bidx=row.address_bidx, list_id=list_id, action="resubscribed",
                          meta=meta, now=now)
            self.sp.audit.append(conn, actor=meta.source, action="email.resubscribed", subject=subject,
                                 fields=["email"], meta={"list": list_id})
            self._propagate(conn, subject, list_id, subscribed=True, level="confirmed_opt_in", now=now)
        return Change(subject, list_id, True)

    def _pause(self, subject: str, list_id: str, meta: Meta, until: datetime, now: datetime) -> Change:
        with self.sp.store.begin() as conn:
            row = records.subject_row(conn, subject)
            changed = records.set_state(conn, subject=subject, list_id=list_id, state="paused",
                                        level="confirmed_opt_in", now=now, paused_until=until)
            if changed:
                records.prove(conn, subject=subject, bidx=row.address_bidx, list_id=list_id, action="paused",
                              meta=meta, now=now)
                self.sp.audit.append(conn, actor=meta.source, action="email.paused", subject=subject,
                                     fields=["email"], meta={"list": list_id})
        return Change(subject, list_id, changed)

    def is_paused(self, address: str, list_id: str) -> bool:
        with self.sp.store.begin(write=False) as conn:
            row = records.states(conn, self.subject_of(address)).get(list_id)
        return bool(row and row.state == "paused" and row.paused_until and row.paused_until > self.sp.clock())

    # -- proof and housekeeping -------------------------------------------------------------------------
    def history(self, address: str) -> list[dict[str, Any]]:
        """Every opt-in, confirmation, opt-out and preference change for ``address``, oldest first."""
        with self.sp.store.begin(write=False) as conn:
            return records.history(conn, self._bidx(address))

    def run_due(self, now: datetime) -> dict[str, int]:
        """Purge unconfirmed opt-in requests past their expiry (the proof of the request stays)."""
        with self.sp.store.begin() as conn:
            gone = conn.execute(delete(pending_opt_ins).where(pending_opt_ins.c.confirmed_at.is_(None),
                                                              pending_opt_ins.c.expires_at <= now)).rowcount
        return {"expired_opt_ins": int(gone)}

    def forget_subject(self, conn: Connection, subject: str) -> None:
        """Erasure: drop the encrypted address and platform id; the suppression (blind index) stays."""
        conn.execute(update(email_subjects).where(email_subjects.c.subject == subject)
                     .values(address=None, customer_ref=None))
