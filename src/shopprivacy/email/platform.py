"""Consent changes made on the platform (Shopify's customer marketing consent, a WooCommerce customer's consent
meta), applied to ``sp.email`` with the platform's time as proof and never mirrored back to the platform.

A change applies only when its time is later than everything the SDK holds for the address and lists it
touches (the subscription state's time and the suppression's): deliveries that arrive late or out of order
never override a newer choice, and the platform's echo of a change the SDK pushed (same time, or the same time
cut to whole seconds) changes nothing. A withdrawal without a time still applies (stopping mail is the safe
side); a subscription without a time does not.

The same rules serve every consent channel with the e-mail tables' shape (:class:`~.records.ConsentTables`):
``sp.sms.platform`` is a :class:`PlatformChanges` over the SMS tables, keyed by E.164 number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidInput
from . import records
from .records import EMAIL, Change, ConsentTables, Meta
from .settings import ALL, MailingList

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store

log = logging.getLogger("shopprivacy.email")

#: Proof actions of changes made on the platform (``sp.email.subjects.history`` shows them).
OPT_IN_ACTION, OPT_OUT_ACTION = "platform_opt_in", "platform_unsubscribed"
Level = Literal["single_opt_in", "confirmed_opt_in", "unknown"]


@dataclass(frozen=True)
class PlatformConsentUpdate:
    """One marketing-consent change reported by a platform.

    ``platform``: its name (``shopify``, ``woocommerce``). ``address``: the subscriber's e-mail address (for
    ``sp.sms.platform``: the phone number).
    ``subscribed``: the new state (False for unsubscribed, not subscribed, invalid, redacted). ``updated_at``: when
    the platform recorded it (timezone-aware; None when the platform sent none). ``list_id``: the SDK list it
    concerns, ``"*"`` for every marketing list (a platform with one consent for all marketing). ``customer_ref``:
    the platform's customer id. ``collected_from``: where the platform says it collected the consent."""

    platform: str
    address: str = field(repr=False)
    subscribed: bool
    updated_at: datetime | None
    list_id: str = ALL
    opt_in_level: Level = "unknown"
    customer_ref: str | None = None
    collected_from: str | None = None


class ChannelSettings(Protocol):
    """What the rules need of a channel's settings (``EmailSettings``, ``SmsSettings``)."""

    @property
    def lists(self) -> dict[str, MailingList]: ...

    def check_list(self, list_id: str) -> None: ...


class ChannelSubjects(Protocol):
    """What the rules need of a channel's subjects (``email.subjects.Subjects``, ``sms.subjects.PhoneSubjects``)."""

    def subject_of(self, address: str, /) -> str: ...

    def blind_index(self, address: str, /) -> str: ...

    def register(self, conn: Connection, address: str, /, *, customer_ref: str | None = None) -> tuple[str, str]: ...


def _email_address(address: str) -> str:
    if "@" not in address or len(address) > 320:
        raise InvalidInput("a platform consent change needs the subscriber's e-mail address")
    return address


class PlatformChanges:
    """Applies platform consent changes (``sp.email.platform``, ``sp.sms.platform``); nothing it writes is queued
    for the platform. ``tables`` (default: e-mail's) and ``normalise`` (checks and normalises the address or
    number; InvalidInput when it is none) select the channel. A subclass may name its proof differently
    (``opt_in_action``, ``opt_out_action``, ``audit_verb``, :meth:`_meta`): the import of existing consent does."""

    opt_in_action = OPT_IN_ACTION
    opt_out_action = OPT_OUT_ACTION
    audit_verb = "platform"

    def __init__(self, settings: ChannelSettings, *, store: Store, audit: AuditLog, clock: Callable[[], datetime],
                 subjects: ChannelSubjects, tables: ConsentTables = EMAIL,
                 normalise: Callable[[str], str] = _email_address, field_name: str = "email") -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._clock = clock
        self._subjects = subjects
        self._t = tables
        self._normalise = normalise
        self._field = field_name

    def _lists(self, list_id: str) -> list[str]:
        if list_id == ALL:
            return [lid for lid, ml in self._settings.lists.items() if ml.kind == "marketing"]
        if self._settings.lists[list_id].kind != "marketing":
            raise InvalidInput(f"list {list_id!r} is transactional: it has no marketing consent")
        return [list_id]

    def _lift(self, conn: Connection, bidx: str, list_id: str, now: datetime) -> None:
        """Lift the suppression of ``list_id``; an all-lists one is kept for the other lists."""
        t = self._t
        if records.is_suppressed(conn, bidx, None, t):
            records.unsuppress(conn, bidx=bidx, list_id=ALL, tables=t)
            for other in self._settings.lists:
                if other != list_id:
                    records.suppress(conn, bidx=bidx, list_id=other, reason="unsubscribed", now=now, tables=t)
        records.unsuppress(conn, bidx=bidx, list_id=list_id, tables=t)

    def apply(self, change: PlatformConsentUpdate) -> Change:
        """Record the platform's change unless the SDK holds a newer state; ``changed`` is False when it was
        stale or already the state held. Committed on return; queues nothing for the platform."""
        self._settings.check_list(change.list_id)
        at = change.updated_at
        if at is not None and at.tzinfo is None:
            raise InvalidInput("a platform consent time needs a UTC offset")
        at = at.astimezone(timezone.utc) if at is not None else None
        address = self._normalise(change.address)
        lists = self._lists(change.list_id)
        subject, bidx = self._subjects.subject_of(address), self._subjects.blind_index(address)
        with self._store.begin() as conn:
            self._store.lock(conn, f"shopprivacy:{self._t.name}:platform:{subject}")
            newest = _newest(conn, self._t, subject, bidx, lists)
            if at is not None and newest is not None and at <= newest:
                log.info("platform consent change for %s not applied: the SDK holds a newer state", subject)
                return Change(subject, change.list_id, False)
            if change.subscribed:
                changed = self._opt_in(conn, change, address, lists, at)
            else:
                changed = self._opt_out(conn, change, subject, bidx, lists, at or self._clock())
        log.info("platform %s consent %s for %s on %s (%s)", self._t.name, "opt-in" if change.subscribed else "opt-out",
                 subject, change.list_id, "applied" if changed else "no change")
        return Change(subject, change.list_id, changed)

    def newest(self, address: str, list_id: str) -> datetime | None:
        """The latest time the SDK holds for ``address`` on the lists ``list_id`` covers (state changes and
        suppressions); None when it holds nothing there. Reads only."""
        self._settings.check_list(list_id)
        address = self._normalise(address)
        lists = self._lists(list_id)
        subject, bidx = self._subjects.subject_of(address), self._subjects.blind_index(address)
        with self._store.begin(write=False) as conn:
            return _newest(conn, self._t, subject, bidx, lists)

    def _meta(self, change: PlatformConsentUpdate, level: str) -> Meta:
        source = f"{change.platform}:{level}" + (f":{change.collected_from}" if change.collected_from else "")
        return Meta(source=source[:120])

    def _opt_in(self, conn: Connection, change: PlatformConsentUpdate, address: str, lists: list[str],
                at: datetime | None) -> bool:
        if at is None:  # no time, no proof of when consent was given: keep what the SDK holds
            return False
        t = self._t
        subject, bidx = self._subjects.register(conn, address, customer_ref=change.customer_ref)
        changed = False
        for lid in lists:
            if records.set_state(conn, subject=subject, list_id=lid, state="subscribed", level=change.opt_in_level,
                                 now=at, tables=t):
                changed = True
            else:
                _touch(conn, t, subject, lid, at)
            if records.is_suppressed(conn, bidx, lid, t):
                self._lift(conn, bidx, lid, at)
                changed = True
        if changed:
            for lid in lists:
                records.prove(conn, subject=subject, bidx=bidx, list_id=lid, action=self.opt_in_action,
                              meta=self._meta(change, change.opt_in_level), now=at, audit=self._audit, tables=t)
            self._audit.append(conn, actor=change.platform[:40], action=f"{t.name}.{self.audit_verb}_opt_in",
                               subject=subject, fields=[self._field],
                               meta={"list": change.list_id, "level": change.opt_in_level})
        return changed

    def _opt_out(self, conn: Connection, change: PlatformConsentUpdate, subject: str, bidx: str, lists: list[str],
                 at: datetime) -> bool:
        t = self._t
        held = records.subject_row(conn, subject, t) is not None
        changed = False
        for lid in lists:
            if held and records.set_state(conn, subject=subject, list_id=lid, state="unsubscribed", level="unknown",
                                          now=at, tables=t):
                changed = True
            elif held:
                _touch(conn, t, subject, lid, at)
        target = change.list_id if change.list_id != ALL else ALL
        suppressions = t.suppressions
        if records.suppress(conn, bidx=bidx, list_id=target, reason="platform", now=at, tables=t):
            changed = True
        else:  # already suppressed: remember the platform's later confirmation, as for a state (_touch)
            conn.execute(update(suppressions).where(suppressions.c.address_bidx == bidx,
                                                    suppressions.c.list_id == target,
                                                    suppressions.c.created_at < at).values(created_at=at))
        if changed:  # the address itself is not stored for a withdrawal: the blind index is enough to suppress
            records.prove(conn, subject=subject, bidx=bidx, list_id=target, action=self.opt_out_action,
                          meta=self._meta(change, "withdrawn"), now=at, audit=self._audit, tables=t)
            self._audit.append(conn, actor=change.platform[:40], action=f"{t.name}.{self.audit_verb}_unsubscribed",
                               subject=subject, fields=[self._field], meta={"list": target})
        return changed


def _touch(conn: Connection, t: ConsentTables, subject: str, list_id: str, at: datetime) -> None:
    """The platform confirmed the state held at a later time: remember that time, so an older delivery arriving
    afterwards cannot override it."""
    subscriptions = t.subscriptions
    conn.execute(update(subscriptions).where(subscriptions.c.subject == subject, subscriptions.c.list_id == list_id,
                                             subscriptions.c.updated_at < at).values(updated_at=at))


def _newest(conn: Connection, t: ConsentTables, subject: str, bidx: str, lists: list[str]) -> datetime | None:
    """The latest time the SDK holds for the subject on ``lists``: state changes and suppressions."""
    subscriptions, suppressions = t.subscriptions, t.suppressions
    times = [r[0] for r in conn.execute(select(subscriptions.c.updated_at).where(
        subscriptions.c.subject == subject, subscriptions.c.list_id.in_(lists)))]
    times += [r[0] for r in conn.execute(select(suppressions.c.created_at).where(
        suppressions.c.address_bidx == bidx, or_(suppressions.c.list_id == ALL, suppressions.c.list_id.in_(lists))))]
    aware = [x if x.tzinfo is not None else x.replace(tzinfo=timezone.utc) for x in times if x is not None]
    return max(aware, default=None)


__all__ = ["OPT_IN_ACTION", "OPT_OUT_ACTION", "PlatformChanges", "PlatformConsentUpdate"]
