"""Leaving lists: unsubscribe by link or address, the suppression list (blind index, survives erasure), where
an address stands on a list, and lifting a suppression after a confirmed opt-in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..errors import ExpiredToken, ShopPrivacyError
from ..store.group_commit import GroupCommit
from . import records
from .links import Links
from .optouts import OptOut, OptOuts
from .propagation import Propagation
from .records import Change, Meta
from .settings import ALL, EmailSettings
from .subjects import Subjects
from .tables import pending_opt_ins

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store

log = logging.getLogger("shopprivacy.email")


class Suppression:
    """Unsubscribe and the suppression list of ``sp.email``."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, clock: Callable[[], datetime],
                 subjects: Subjects, links: Links, propagation: Propagation) -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._clock = clock
        self._subjects = subjects
        self._links = links
        self._propagation = propagation
        self._opt_outs = opt_outs = OptOuts(settings, store=store, audit=audit, propagation=propagation)
        self._group: GroupCommit[OptOut, Any, Change] = GroupCommit(store, check=opt_outs.check,
                                                                    apply=opt_outs.apply)

    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        """(subject, list id) of a valid unsubscribe token; BadToken, ExpiredToken or NotFoundError."""
        subject, list_id = self._links.read_unsubscribe(token)
        self._settings.check_list(list_id)
        return subject, list_id

    def fresh_unsubscribe_token(self, expired: ExpiredToken) -> str | None:
        """A new token for the subject and list of an authentic but expired unsubscribe link."""
        return self._links.fresh_unsubscribe_token(expired)

    def unsubscribe(self, token: str, meta: Meta | None = None) -> Change:
        """Unsubscribe the token's subject from its list. Idempotent; committed before it returns.

        Unsubscribes of concurrent threads (a burst of one-click POSTs) share transactions
        (``shopprivacy.store.group_commit``): each is still committed before its call returns."""
        subject, list_id = self.read_unsubscribe(token)
        return self._group.run(OptOut(subject, list_id, meta or Meta(source="unsubscribe-link"), "unsubscribed",
                                       self._clock()))

    def unsubscribe_address(self, address: str, list_id: str = ALL, *, meta: Meta | None = None) -> Change:
        """Unsubscribe by address (a reply, a support request, a bounce policy)."""
        self._settings.check_list(list_id)
        with self._store.begin() as conn:
            subject, _ = self._subjects.register(conn, address)
        return self.opt_out(subject, list_id, meta or Meta(source="direct"), reason="unsubscribed")

    def opt_out(self, subject: str, list_id: str, meta: Meta, *, reason: str) -> Change:
        """State, suppression, proof, audit entry and outbox rows in one transaction, committed on return."""
        item = OptOut(subject, list_id, meta, reason, self._clock())
        with self._store.begin() as conn:
            row = self._opt_outs.check(conn, [item])[0]
            if isinstance(row, ShopPrivacyError):
                raise row
            return self._opt_outs.apply(conn, [item], [row])[0]

    def suppress(self, address: str, list_id: str = ALL, *, reason: str = "manual") -> None:
        """Add an address to the suppression list (bounces, complaints, requests by other channels)."""
        self._settings.check_list(list_id)
        now = self._clock()
        with self._store.begin() as conn:
            subject, bidx = self._subjects.register(conn, address)
            records.suppress(conn, bidx=bidx, list_id=list_id, reason=reason[:40], now=now)
            self._audit.append(conn, actor="system", action="email.suppressed", subject=subject,
                               fields=["email"], meta={"list": list_id, "reason": reason[:40]})

    def suppress_hashed(self, conn: Connection, bidx: str, *, subject: str, reason: str = "erased") -> bool:
        """Suppress from every list by the address's blind index, in ``conn`` (an erasure replayed after a restored
        backup: the address itself is no longer known). Audited when new; False when it was already there."""
        newly = records.suppress(conn, bidx=bidx, list_id=ALL, reason=reason[:40], now=self._clock())
        if newly:
            self._audit.append(conn, actor="journal", action="email.suppressed", subject=subject, fields=["email"],
                               meta={"list": ALL, "reason": reason[:40]})
        return newly

    def is_suppressed(self, address: str, list_id: str | None = None) -> bool:
        """True when ``address`` must not receive marketing on ``list_id``; with ``None``: when it is suppressed
        from every list."""
        with self._store.begin(write=False) as conn:
            return records.is_suppressed(conn, self._subjects.blind_index(address), list_id)

    def state(self, address: str, list_id: str) -> str:
        """Where ``address`` stands on ``list_id``: ``subscribed``, ``paused``, ``pending`` (opt-in awaiting its
        confirmation), ``unsubscribed`` (suppressed) or ``not_subscribed``."""
        self._settings.check_list(list_id)
        bidx, now = self._subjects.blind_index(address), self._clock()
        with self._store.begin(write=False) as conn:
            if records.is_suppressed(conn, bidx, list_id):
                return "unsubscribed"
            current = records.states(conn, self._subjects.subject_of(address)).get(list_id)
            state = records.effective_state(current, now)
            if state != "not_subscribed":
                return state
            pending = conn.execute(select(pending_opt_ins.c.id).where(
                pending_opt_ins.c.address_bidx == bidx, pending_opt_ins.c.list_id == list_id,
                pending_opt_ins.c.confirmed_at.is_(None), pending_opt_ins.c.expires_at > now).limit(1)).first()
        return "pending" if pending is not None else "not_subscribed"

    def is_paused(self, address: str, list_id: str) -> bool:
        """True while the subscriber has paused marketing on ``list_id`` from the preference centre."""
        with self._store.begin(write=False) as conn:
            row = records.states(conn, self._subjects.subject_of(address)).get(list_id)
        return bool(row and row.state == "paused" and row.paused_until and row.paused_until > self._clock())

    def lift(self, conn: Connection, bidx: str, list_id: str, now: datetime) -> None:
        """An explicit, confirmed opt-in to one list lifts the suppression for that list only."""
        if records.is_suppressed(conn, bidx, None):  # an "all lists" opt-out: keep it for the other lists
            records.unsuppress(conn, bidx=bidx, list_id=ALL)
            for other in self._settings.lists:
                if other != list_id:
                    records.suppress(conn, bidx=bidx, list_id=other, reason="unsubscribed", now=now)
        records.unsuppress(conn, bidx=bidx, list_id=list_id)
