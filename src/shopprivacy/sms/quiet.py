"""Quiet hours in the recipient's time zone, and the send guard for marketing texts.

The recipient's zone is the one the shop stored for the number, else the zones of the number's region or area
code (``phonenumbers.timezone``), else ``default_time_zone``. When a region spans several zones (the US, Canada,
Russia, Australia ...), a text is quiet if it is quiet in any of them: the guard errs on the side of silence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..email import records
from ..errors import QuietHours, SuppressedRecipient
from . import phones
from .settings import SmsSettings
from .subjects import PhoneSubjects
from .tables import SMS, sms_subjects

if TYPE_CHECKING:
    from ..store.engine import Store
    from ..store.restrictions import SubjectRestrictions


def _quiet(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    return start <= local or local < end if start > end else start <= local < end


def _quiet_until(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """The next moment after ``at`` when the quiet hours in ``zone`` end (``at`` is quiet there)."""
    local = at.astimezone(zone)
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(at.tzinfo)


def next_send_time(at: datetime, zones: Sequence[str], start: time, end: time) -> datetime:
    """``at`` when it is outside quiet hours in every zone, else the first moment after it that is."""
    moment = at
    for _ in range(2 * len(zones) + 2):
        quiet = [ZoneInfo(z) for z in zones if _quiet(moment.astimezone(ZoneInfo(z)).time(), start, end)]
        if not quiet:
            return moment
        moment = max(_quiet_until(moment, z, start, end) for z in quiet)
    return moment  # the zones never share an open window: the latest end found


class SmsGuard:
    """What a shop calls before sending a marketing text."""

    def __init__(self, settings: SmsSettings, *, store: Store, clock: Callable[[], datetime],
                 subjects: PhoneSubjects,
                 restrictions: Callable[[], SubjectRestrictions | None] | None = None) -> None:
        self._settings = settings
        self._restrictions = restrictions
        self._store = store
        self._clock = clock
        self._subjects = subjects

    def zones(self, e164: str) -> tuple[str, ...]:
        """The recipient's time zone(s): stored, else the number's, else the default."""
        with self._store.begin(write=False) as conn:
            stored = conn.execute(select(sms_subjects.c.time_zone).where(
                sms_subjects.c.subject == self._subjects.subject_of(e164))).scalar()
        if stored:
            return (str(stored),)
        return phones.time_zones(e164) or (self._settings.default_time_zone,)

    def next_send_time(self, e164: str, at: datetime | None = None) -> datetime:
        """The first moment from ``at`` (now) outside quiet hours for the recipient."""
        s = self._settings
        return next_send_time(at or self._clock(), self.zones(e164), s.quiet_start, s.quiet_end)

    def guard(self, e164: str, list_id: str, at: datetime | None = None) -> None:
        """SuppressedRecipient without a standing opt-in or when suppressed; QuietHours (a SuppressedRecipient
        with ``until``) in the recipient's quiet hours; ProcessingRestricted (also one) while the number's owner
        restricted processing or objected to direct marketing in a rights request. Transactional programs are
        never blocked."""
        if self._settings.program(list_id).kind == "transactional":
            return
        restrictions = self._restrictions() if self._restrictions is not None else None
        if restrictions is not None:
            restrictions.check({"phone": e164}, "marketing")
        bidx, subject = self._subjects.blind_index(e164), self._subjects.subject_of(e164)
        with self._store.begin(write=False) as conn:
            if records.is_suppressed(conn, bidx, list_id, SMS):
                raise SuppressedRecipient(f"the recipient opted out of {list_id!r} texts; not sending")
            row = records.states(conn, subject, SMS).get(list_id)
        if row is None or row.state != "subscribed":
            raise SuppressedRecipient(f"the recipient has not opted in to {list_id!r} texts; not sending")
        now = at or self._clock()
        until = self.next_send_time(e164, now)
        if until > now:
            raise QuietHours("quiet hours at the recipient's; send later", until=until)
