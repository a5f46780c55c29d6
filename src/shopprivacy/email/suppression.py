"""Leaving lists: unsubscribe by link or address, the suppression list (blind index, survives erasure),
the send guard, and lifting a suppression after a confirmed opt-in."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..errors import BadToken, NotFoundError, SuppressedRecipient
from . import records
from .core import ALL, EmailBase
from .records import Change, Meta
from .tables import email_subjects, pending_opt_ins

log = logging.getLogger("shopprivacy.email")


class SuppressionMixin(EmailBase):
    """Unsubscribe, suppression and the send guard of :class:`~.service.Email`."""

    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        """(subject, list id) of a valid unsubscribe token; BadToken, ExpiredToken or NotFoundError."""
        payload = self._unsubscribe.verify(token, max_age_seconds=self.settings.unsubscribe_max_age_days * 86400)
        subject, list_id = payload.get("s"), payload.get("l")
        if not isinstance(subject, str) or not isinstance(list_id, str):
            raise BadToken("the unsubscribe link is not valid")
        self._known_list(list_id)
        return subject, list_id

    def unsubscribe(self, token: str, meta: Meta | None = None) -> Change:
        """Unsubscribe the token's subject from its list. Idempotent; committed before it returns."""
        subject, list_id = self.read_unsubscribe(token)
        return self._opt_out(subject, list_id, meta or Meta(source="unsubscribe-link"), reason="unsubscribed")

    def unsubscribe_address(self, address: str, list_id: str = ALL, *, meta: Meta | None = None) -> Change:
        """Unsubscribe by address (a reply, a support request, a bounce policy)."""
        self._known_list(list_id)
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address)
        return self._opt_out(subject, list_id, meta or Meta(source="direct"), reason="unsubscribed")

    def _opt_out(self, subject: str, list_id: str, meta: Meta, *, reason: str) -> Change:
        """State, suppression, proof, audit entry and outbox rows in one transaction, committed on return."""
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
        self._known_list(list_id)
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

    def state(self, address: str, list_id: str) -> str:
        """Where ``address`` stands on ``list_id``: ``subscribed``, ``paused``, ``pending`` (opt-in awaiting its
        confirmation), ``unsubscribed`` (suppressed) or ``not_subscribed``."""
        self._known_list(list_id)
        bidx, now = self._bidx(address), self.sp.clock()
        with self.sp.store.begin(write=False) as conn:
            if records.is_suppressed(conn, bidx, list_id):
                return "unsubscribed"
            state = records.effective_state(records.states(conn, self.subject_of(address)).get(list_id), now)
            if state != "not_subscribed":
                return state
            pending = conn.execute(select(pending_opt_ins.c.id).where(
                pending_opt_ins.c.address_bidx == bidx, pending_opt_ins.c.list_id == list_id,
                pending_opt_ins.c.confirmed_at.is_(None), pending_opt_ins.c.expires_at > now).limit(1)).first()
        return "pending" if pending is not None else "not_subscribed"

    def is_paused(self, address: str, list_id: str) -> bool:
        """True while the subscriber has paused marketing on ``list_id`` from the preference centre."""
        with self.sp.store.begin(write=False) as conn:
            row = records.states(conn, self.subject_of(address)).get(list_id)
        return bool(row and row.state == "paused" and row.paused_until and row.paused_until > self.sp.clock())

    def guard(self, address: str, list_id: str) -> None:
        """Raise SuppressedRecipient unless a marketing mail to ``address`` on ``list_id`` may be sent.
        Transactional lists are never blocked."""
        if self.mailing_list(list_id).kind == "transactional":
            return
        if self.is_suppressed(address, list_id) or self.is_paused(address, list_id):
            raise SuppressedRecipient(f"the recipient unsubscribed from or paused {list_id!r}; not sending")

    def _lift_suppression(self, conn: Connection, bidx: str, list_id: str, now: datetime) -> None:
        """An explicit, confirmed opt-in to one list lifts the suppression for that list only."""
        if records.is_suppressed(conn, bidx, None):  # an "all lists" opt-out: keep it for the other lists
            records.unsuppress(conn, bidx=bidx, list_id=ALL)
            for other in self.settings.lists:
                if other != list_id:
                    records.suppress(conn, bidx=bidx, list_id=other, reason="unsubscribed", now=now)
        records.unsuppress(conn, bidx=bidx, list_id=list_id)

    def forget_subject(self, conn: Connection, subject: str) -> None:
        """Erasure: drop the encrypted address and platform id; the suppression (blind index) stays."""
        conn.execute(update(email_subjects).where(email_subjects.c.subject == subject)
                     .values(address=None, customer_ref=None))
