"""Double opt-in: a pending request with its confirmation link, the confirmation with its proof, re-sends
(rate limited per address and list, also across expired requests) and the purge of stale requests."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from ..errors import BadToken, ExpiredToken, InvalidInput, NotFoundError, RateLimited
from ..limits import mailbox
from . import records
from .links import Links
from .mailer import LINK_TOPIC, LinkMailer
from .propagation import Propagation
from .records import Change
from .settings import EmailSettings
from .subjects import Subjects
from .suppression import Suppression
from .tables import pending_opt_ins

OptInLevel = Literal["single_opt_in", "confirmed_opt_in", "unknown"]
#: Opt-in levels :meth:`OptIn.record` takes (Shopify's ``marketingOptInLevel``, lower case).
OPT_IN_LEVELS: tuple[str, ...] = ("single_opt_in", "confirmed_opt_in", "unknown")

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..store.audit import AuditLog
    from ..store.engine import Store


class OptIn:
    """Double opt-in of ``sp.email``: request, confirm, re-send, purge."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, fields: Fields,
                 clock: Callable[[], datetime], subjects: Subjects, links: Links, suppression: Suppression,
                 propagation: Propagation, mailer: LinkMailer) -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._fields = fields
        self._clock = clock
        self._subjects = subjects
        self._links = links
        self._suppression = suppression
        self._propagation = propagation
        self._mailer = mailer

    def request(self, address: str, list_id: str, *, source: str, consent_text_version: str,
                       ip: str | None = None, user_agent: str | None = None,
                       customer_ref: str | None = None) -> str:
        """Store a pending opt-in and return the confirmation link to mail. RateLimited past the limit."""
        self._settings.mailing_list(list_id)
        if not consent_text_version or len(consent_text_version) > 120 or not source or len(source) > 120:
            raise InvalidInput("source and consent_text_version are required (at most 120 characters)")
        now = self._clock()
        meta = self._subjects.meta(source=source, ip=ip, user_agent=user_agent, text_version=consent_text_version)
        limit_key = self._fields.blind_index(mailbox(address), kind="email")
        with self._store.begin() as conn:
            subject, bidx = self._subjects.register(conn, address, customer_ref=customer_ref)
            self._check_variants(conn, limit_key, list_id, now)
            # the newest unconfirmed request, even an expired one not yet purged: its counter carries the limit
            row = conn.execute(self._locked(select(pending_opt_ins).where(
                pending_opt_ins.c.address_bidx == bidx, pending_opt_ins.c.list_id == list_id,
                pending_opt_ins.c.confirmed_at.is_(None)).order_by(pending_opt_ins.c.requested_at.desc()).limit(1),
                conn)).first()
            if row is None:
                pending_id = secrets.token_hex(12)
                conn.execute(pending_opt_ins.insert().values(
                    id=pending_id, subject=subject, address_bidx=bidx, list_id=list_id,
                    text_version=consent_text_version, source=source, ip_hash=meta.ip_hash, ua_hash=meta.ua_hash,
                    requested_at=now, expires_at=self._expiry(now), sends=1, window_started_at=now,
                    limit_key=limit_key))
            else:
                pending_id = row.id
                self._count_send(conn, row, now, text_version=consent_text_version, source=source)
            records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action="opt_in_requested", meta=meta,
                          now=now, audit=self._audit)
        return self._links.confirm_url(pending_id)

    def record(self, address: str, list_id: str, *, source: str, consent_text_version: str,
               level: OptInLevel = "single_opt_in", ip: str | None = None, user_agent: str | None = None,
               customer_ref: str | None = None, propagate: bool = True) -> Change:
        """Record an opt-in the shop obtained itself — a ticked box at checkout (``single_opt_in``), subscribers
        with proof kept elsewhere before the SDK (their ``level``) — so the send guard lets marketing on
        ``list_id`` go to ``address``. Proof (``opt_in_recorded``: list, text version, source, hashed IP and
        UA), audit entry and, with ``propagate``, the platform update are written together.

        An address that unsubscribed from the list (or from all lists) stays suppressed: ``changed`` is False
        and nothing is written; coming back takes a double opt-in (:meth:`request` / :meth:`confirm`)."""
        self._settings.mailing_list(list_id)
        if not consent_text_version or len(consent_text_version) > 120 or not source or len(source) > 120:
            raise InvalidInput("source and consent_text_version are required (at most 120 characters)")
        if level not in OPT_IN_LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(OPT_IN_LEVELS)}")
        now = self._clock()
        meta = self._subjects.meta(source=source, ip=ip, user_agent=user_agent, text_version=consent_text_version)
        with self._store.begin() as conn:
            subject, bidx = self._subjects.register(conn, address, customer_ref=customer_ref)
            if records.is_suppressed(conn, bidx, list_id):
                return Change(subject, list_id, False)
            current = records.states(conn, subject).get(list_id)
            if current is not None and current.state != "unsubscribed":
                return Change(subject, list_id, False)  # subscribed or paused already: keep its proof and pause
            records.set_state(conn, subject=subject, list_id=list_id, state="subscribed", level=level, now=now)
            records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action="opt_in_recorded", meta=meta,
                          now=now, audit=self._audit)
            self._audit.append(conn, actor=source, action="email.opt_in_recorded", subject=subject,
                               fields=["email"], meta={"list": list_id, "level": level,
                                                       "text_version": consent_text_version})
            if propagate:
                self._propagation.enqueue(conn, subject, list_id, subscribed=True, level=level, now=now)
        return Change(subject, list_id, True)

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(hours=self._settings.confirm_max_age_hours)

    @staticmethod
    def _locked(query: Any, conn: Connection) -> Any:
        # PostgreSQL: lock the row so two racing re-sends count twice; SQLite's BEGIN IMMEDIATE already does
        return query.with_for_update() if conn.dialect.name == "postgresql" else query

    def _check_variants(self, conn: Connection, limit_key: str, list_id: str, now: datetime) -> None:
        """RateLimited when the variants of one mailbox (``+tag``, Gmail dots: :func:`~shopprivacy.limits.mailbox`)
        were sent ``resend_limit`` confirmation mails for ``list_id`` within the window, all together."""
        self._store.lock(conn, f"shopprivacy:email:opt-in:{limit_key}")
        since = now - timedelta(hours=self._settings.resend_window_hours)
        sent = conn.execute(select(func.coalesce(func.sum(pending_opt_ins.c.sends), 0)).where(
            pending_opt_ins.c.limit_key == limit_key, pending_opt_ins.c.list_id == list_id,
            pending_opt_ins.c.confirmed_at.is_(None), pending_opt_ins.c.window_started_at > since)).scalar_one()
        if sent >= self._settings.resend_limit:
            raise RateLimited("too many confirmation mails for this address; try again later")

    def _count_send(self, conn: Connection, row: Any, now: datetime, **values: str) -> str:
        """Count one more confirmation mail for ``row`` (RateLimited past the limit) and extend its expiry;
        returns a key naming this send (window and count)."""
        s = self._settings
        in_window = row.window_started_at > now - timedelta(hours=s.resend_window_hours)
        if in_window and row.sends >= s.resend_limit:
            raise RateLimited("too many confirmation mails for this address; try again later")
        sends, window = (row.sends + 1, row.window_started_at) if in_window else (1, now)
        conn.execute(update(pending_opt_ins).where(pending_opt_ins.c.id == row.id).values(
            sends=sends, window_started_at=window, expires_at=self._expiry(now), **values))
        return f"{row.id}:{window.isoformat()}:{sends}"

    def _pending(self, conn: Connection, pending_id: str, *, lock: bool = False) -> Any:
        query = select(pending_opt_ins).where(pending_opt_ins.c.id == pending_id)
        return conn.execute(self._locked(query, conn) if lock else query).first()

    def read_confirmation(self, token: str) -> tuple[str, bool]:
        """(list id, already confirmed) of a confirmation link, writing nothing. BadToken when tampered,
        ExpiredToken (with the authentic payload) when too old or its request was purged, NotFoundError when
        the list is no longer declared."""
        pending_id = self._links.pending_id(token, expired_ok=False)
        with self._store.begin(write=False) as conn:
            row = self._pending(conn, pending_id)
        if row is None or (row.confirmed_at is None and row.expires_at <= self._clock()):
            raise ExpiredToken("the confirmation link has expired", payload={"p": pending_id})
        self._settings.mailing_list(row.list_id)
        return row.list_id, row.confirmed_at is not None

    def confirmation_resendable(self, token: str) -> bool:
        """True when a fresh link can be mailed for this (authentic, possibly expired) confirmation link: a
        sender is set and its request is still held and unconfirmed."""
        if not self._mailer.can_mail_links:
            return False
        try:
            pending_id = self._links.pending_id(token, expired_ok=True)
        except BadToken:
            return False
        with self._store.begin(write=False) as conn:
            row = self._pending(conn, pending_id)
        return row is not None and row.confirmed_at is None and row.list_id in self._settings.lists

    def resend_confirmation(self, token: str, *, locale: str = "en", ip: str | None = None,
                            user_agent: str | None = None) -> Change:
        """Mail a fresh confirmation link (through the sender, via the outbox) for an authentic confirmation
        link, expired or not. RateLimited past the re-send limit; NotFoundError when the request was purged;
        ``changed`` is False when it was already confirmed (nothing is sent)."""
        pending_id = self._links.pending_id(token, expired_ok=True)
        if not self._mailer.can_mail_links:
            raise InvalidInput("this shop cannot mail a new link here; sign up again to get one")
        now = self._clock()
        with self._store.begin() as conn:
            row = self._pending(conn, pending_id, lock=True)
            if row is None:
                raise NotFoundError("the opt-in request is no longer held; sign up again")
            self._settings.mailing_list(row.list_id)
            if row.confirmed_at is not None:
                return Change(row.subject, row.list_id, False)
            if row.limit_key is not None:
                self._check_variants(conn, row.limit_key, row.list_id, now)
            send = self._count_send(conn, row, now)
            meta = self._subjects.meta(source=row.source, ip=ip, user_agent=user_agent, text_version=row.text_version)
            records.prove(conn, subject=row.subject, bidx=row.address_bidx, list_id=row.list_id,
                          action="opt_in_resent", meta=meta, now=now, audit=self._audit)
            self._mailer.queue(conn, "confirm", row.subject, locale=locale, pending=row.id, list_id=row.list_id,
                             key=f"{LINK_TOPIC}:confirm:{send}")
        return Change(row.subject, row.list_id, True)

    def confirm(self, token: str, *, ip: str | None = None, user_agent: str | None = None) -> Change:
        """Confirm a pending opt-in: proof (time, list, text version, source, hashed IP and UA), audited."""
        pending_id = self._links.pending_id(token, expired_ok=False)
        now = self._clock()
        with self._store.begin() as conn:
            row = self._pending(conn, pending_id, lock=True)
            if row is None:
                raise ExpiredToken("the confirmation link has expired", payload={"p": pending_id})
            self._settings.mailing_list(row.list_id)
            if row.confirmed_at is not None:
                return Change(row.subject, row.list_id, False)
            if row.expires_at <= now:
                raise ExpiredToken("the confirmation link has expired", payload={"p": pending_id})
            conn.execute(update(pending_opt_ins).where(pending_opt_ins.c.id == pending_id).values(confirmed_at=now))
            records.set_state(conn, subject=row.subject, list_id=row.list_id, state="subscribed",
                              level="confirmed_opt_in", now=now)
            self._suppression.lift(conn, row.address_bidx, row.list_id, now)
            meta = self._subjects.meta(source=row.source, ip=ip, user_agent=user_agent, text_version=row.text_version)
            records.prove(conn, subject=row.subject, bidx=row.address_bidx, list_id=row.list_id,
                          action="opt_in_confirmed", meta=meta, now=now, audit=self._audit)
            self._audit.append(conn, actor="subscriber", action="email.opt_in_confirmed", subject=row.subject,
                                 fields=["email"], meta={"list": row.list_id, "text_version": row.text_version})
            self._propagation.enqueue(conn, row.subject, row.list_id, subscribed=True, level="confirmed_opt_in",
                                      now=now)
        return Change(row.subject, row.list_id, True)

    def purge_expired(self, now: datetime) -> int:
        """Delete unconfirmed requests past their expiry and out of the re-send window (their proof stays)."""
        window_start = now - timedelta(hours=self._settings.resend_window_hours)
        with self._store.begin() as conn:
            return int(conn.execute(delete(pending_opt_ins).where(
                pending_opt_ins.c.confirmed_at.is_(None), pending_opt_ins.c.expires_at <= now,
                pending_opt_ins.c.window_started_at <= window_start)).rowcount)
