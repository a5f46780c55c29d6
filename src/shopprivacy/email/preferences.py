"""The preference centre: a signed link to every list with its state; leave one or all, pause, come back
to a list with an earlier confirmed opt-in. Every change is recorded as proof."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..errors import BadToken, InvalidInput, NotFoundError
from . import records
from .links import Links
from .mailer import LinkMailer
from .propagation import Propagation
from .records import Change, Meta
from .settings import EmailSettings
from .suppression import Suppression
from .tables import consent_events

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store


class Preferences:
    """The preference centre of ``sp.email``: read and change where a subscriber stands on each list."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, clock: Callable[[], datetime],
                 links: Links, suppression: Suppression, propagation: Propagation, mailer: LinkMailer) -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._clock = clock
        self._links = links
        self._suppression = suppression
        self._propagation = propagation
        self._mailer = mailer

    def read(self, token: str) -> tuple[str, dict[str, str]]:
        """(subject, {list id: state}) for a preference-centre token."""
        subject = self._links.preferences_subject(token)
        with self._store.begin(write=False) as conn:
            if records.subject_row(conn, subject) is None:
                raise NotFoundError("the preferences link names an address this shop does not hold")
            current = records.states(conn, subject)
        now = self._clock()
        return subject, {lid: records.effective_state(current.get(lid), now) for lid in self._settings.lists}

    def update(self, token: str, wanted: Mapping[str, bool], *, pause_days: int | None = None,
                           meta: Meta | None = None) -> list[Change]:
        """Apply choices from the preference centre. Subscribing here needs an existing confirmed opt-in
        for that list (a preference page cannot create consent); leaving or pausing always works."""
        subject, current = self.read(token)
        unknown = set(wanted) - set(self._settings.lists)
        if unknown:
            raise NotFoundError(f"unknown mailing list(s): {', '.join(sorted(unknown))}")
        if pause_days is not None and not 1 <= pause_days <= 365:
            raise InvalidInput("a pause lasts 1 to 365 days")
        meta = meta or Meta(source="preference-centre")
        changes: list[Change] = []
        now = self._clock()
        for lid, subscribe in wanted.items():
            state = current[lid]
            if not subscribe and state in ("subscribed", "paused"):
                changes.append(self._suppression.opt_out(subject, lid, meta, reason="unsubscribed"))
            elif subscribe and state == "unsubscribed":
                changes.append(self._resubscribe(subject, lid, meta, now))
            elif subscribe and pause_days and state == "subscribed":
                changes.append(self._pause(subject, lid, meta, now + timedelta(days=pause_days), now))
        return changes

    def _resubscribe(self, subject: str, list_id: str, meta: Meta, now: datetime) -> Change:
        with self._store.begin() as conn:
            row = records.subject_row(conn, subject)
            # the proof event, not the pending request: confirmed requests are purged by retention
            confirmed = conn.execute(select(consent_events.c.id).where(
                consent_events.c.address_bidx == row.address_bidx, consent_events.c.list_id == list_id,
                consent_events.c.action == "opt_in_confirmed").limit(1)).first()
            if confirmed is None:
                raise InvalidInput("subscribing to this list needs a confirmed opt-in first")
            records.set_state(conn, subject=subject, list_id=list_id, state="subscribed", level="confirmed_opt_in",
                              now=now)
            self._suppression.lift(conn, row.address_bidx, list_id, now)
            records.prove(conn, subject=subject, bidx=row.address_bidx, list_id=list_id, action="resubscribed",
                          meta=meta, now=now, audit=self._audit)
            self._audit.append(conn, actor=meta.source, action="email.resubscribed", subject=subject,
                                 fields=["email"], meta={"list": list_id})
            self._propagation.enqueue(conn, subject, list_id, subscribed=True, level="confirmed_opt_in", now=now)
        return Change(subject, list_id, True)

    def _pause(self, subject: str, list_id: str, meta: Meta, until: datetime, now: datetime) -> Change:
        with self._store.begin() as conn:
            row = records.subject_row(conn, subject)
            changed = records.set_state(conn, subject=subject, list_id=list_id, state="paused",
                                        level="confirmed_opt_in", now=now, paused_until=until)
            if changed:
                records.prove(conn, subject=subject, bidx=row.address_bidx, list_id=list_id, action="paused",
                              meta=meta, now=now, audit=self._audit)
                self._audit.append(conn, actor=meta.source, action="email.paused", subject=subject,
                                     fields=["email"], meta={"list": list_id})
        return Change(subject, list_id, changed)

    def resendable(self, token: str) -> bool:
        """True when a fresh preference link can be mailed for this (authentic, possibly expired) link: a
        sender is set and the address is still held (not erased)."""
        if not self._mailer.can_mail_links:
            return False
        try:
            subject = self._links.preferences_subject(token, expired_ok=True)
        except BadToken:
            return False
        with self._store.begin(write=False) as conn:
            row = records.subject_row(conn, subject)
        return row is not None and row.address is not None

    def resend(self, token: str, *, locale: str = "en") -> None:
        """Mail a fresh preference-centre link (through the sender, via the outbox) for an authentic link,
        expired or not. RateLimited past ``resend_limit`` per ``resend_window_hours``; NotFoundError when the
        address is no longer held."""
        subject = self._links.preferences_subject(token, expired_ok=True)
        if not self._mailer.can_mail_links:
            raise InvalidInput("this shop cannot mail a new link here; use the link in a more recent mail")
        now = self._clock()
        with self._store.begin() as conn:
            row = records.subject_row(conn, subject)
            if row is None or row.address is None:
                raise NotFoundError("the preferences link names an address this shop does not hold")
            self._mailer.queue_limited(conn, "preferences", subject, locale=locale, now=now)
