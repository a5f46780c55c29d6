"""The inactivity sunset: contacts the shop has not heard from for the declared period leave the marketing
lists (an unsubscribe with its proof, source ``sunset``, propagated like any other), and after the longer
period their address is erased — suppressed by its blind index first, so they are never mailed again."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from ..errors import InvalidInput, ShreddedError
from .model import Sunset
from .tables import contact_activity

if TYPE_CHECKING:
    from ..email.service import Email
    from ..fields.api import Fields
    from ..store.audit import AuditLog
    from ..store.engine import Store

#: Interactions a shop may report.
KINDS = ("opened", "clicked", "purchased", "logged_in", "replied", "visited")
_BATCH = 500


@dataclass(frozen=True)
class SunsetReport:
    """One run: how many subscriptions ended (``removed``) and how many addresses were erased (``erased``)."""

    removed: int = 0
    erased: int = 0


class Sunsetting:
    """``sp.declaration.sunset``: report interactions, and run the sunset (``run-due`` does, daily)."""

    def __init__(self, rule: Callable[[], Sunset | None], *, store: Store, audit: AuditLog, email: Callable[[], Email],
                 fields: Callable[[], Fields], clock: Callable[[], datetime]) -> None:
        self._rule, self.store, self.audit, self._email, self._fields = rule, store, audit, email, fields
        self.clock = clock

    def record(self, address: str, kind: str, *, at: datetime | None = None) -> None:
        """The contact interacted with the shop (``kind`` one of :data:`KINDS`); keeps the latest time."""
        if kind not in KINDS:
            raise InvalidInput(f"an interaction is one of {', '.join(KINDS)}")
        subject = self._email().subjects.subject_of(address)
        when = at or self.clock()
        with self.store.begin() as conn:
            row = conn.execute(select(contact_activity.c.last_at).where(contact_activity.c.subject == subject)).first()
            if row is None:
                conn.execute(insert(contact_activity).values(subject=subject, last_at=when, kind=kind))
            elif row.last_at < when:
                conn.execute(update(contact_activity).where(contact_activity.c.subject == subject)
                             .values(last_at=when, kind=kind))

    def _last_seen(self, subjects: list[str]) -> dict[str, datetime]:
        with self.store.begin(write=False) as conn:
            return {r.subject: r.last_at for r in conn.execute(
                select(contact_activity.c.subject, contact_activity.c.last_at)
                .where(contact_activity.c.subject.in_(subjects)))}

    def run(self, now: datetime | None = None) -> SunsetReport:
        """End the subscriptions of contacts inactive for ``inactive_for``, then erase those inactive for
        ``erase_after``. Idempotent and resumable: what was done is not a candidate again."""
        rule = self._rule()
        if rule is None:
            return SunsetReport()
        now = now or self.clock()
        removed = self._remove(rule, now)
        erased = self._erase(rule, now) if rule.erase_after is not None else 0
        if removed or erased:
            self.audit.record(actor="sunset", action="declaration.sunset",
                              meta={"removed": removed, "erased": erased})
        return SunsetReport(removed, erased)

    def _remove(self, rule: Sunset, now: datetime) -> int:
        email = self._email()
        lists = list(rule.lists or email.settings.lists)
        cutoff, after, done = now - rule.inactive_for, ("", ""), 0
        while True:
            page = email.subjects.subscribed(lists, after=after, batch=_BATCH)
            if not page:
                return done
            seen = self._last_seen(sorted({s for s, _, _ in page}))
            for subject, list_id, since in page:
                if max(since, seen.get(subject, since)) >= cutoff:
                    continue
                address = email.subjects.address_for(subject)
                if address is not None:
                    email.unsubscribe_address(address, list_id, meta=email.subjects.meta(source="sunset"))
                    done += 1
            after = (page[-1][0], page[-1][1])

    def _erase(self, rule: Sunset, now: datetime) -> int:
        assert rule.erase_after is not None
        email, fields = self._email(), self._fields()
        cutoff, done = now - rule.erase_after, 0
        for batch in email.subjects.held(until=cutoff, batch=_BATCH):
            held = [s for s, has_address in batch if has_address]
            seen = self._last_seen(held) if held else {}
            for subject in held:
                if seen.get(subject, cutoff) > cutoff:
                    continue
                if any(since > cutoff for since in email.subjects.subscribed_at(subject).values()):
                    continue  # subscribed again since: not inactive
                address = email.subjects.address_for(subject)
                if address is not None:
                    with contextlib.suppress(ShreddedError):
                        email.suppress(address, "*", reason="inactive")
                with self.store.begin() as conn:
                    email.subjects.forget(conn, subject)
                fields.shred(subject, actor="sunset")
                done += 1
        return done
