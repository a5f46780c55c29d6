"""Opting in and out of SMS programs: explicit opt-in with its proof, opt-out per program or by keyword
(STOP: every program), opting back in (START), suppression by blind index, and where a number stands.

A keyword STOP adds the all-programs suppression and leaves each program's state as it was, so a later START
lifts exactly what STOP added: the programs the person had opted into resume, no others."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.engine import Connection

from ..email import records
from ..email.records import Change, Meta
from ..errors import InvalidInput
from .settings import ALL, SmsSettings
from .subjects import PhoneSubjects
from .tables import SMS

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from .propagation import SmsPropagation

log = logging.getLogger("shopprivacy.sms")


def wording_digest(wording: str) -> str:
    """``sha256:<hex>`` of the consent wording shown (NFC, surrounding space trimmed): the proof of what was
    agreed to. Keep each wording you show; its digest finds it again."""
    if not isinstance(wording, str) or not wording.strip() or len(wording) > 5000:
        raise InvalidInput("the consent wording shown is required (at most 5000 characters)")
    text = unicodedata.normalize("NFC", wording.strip())
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class SmsConsent:
    """Subscription states, suppressions and proof of ``sp.sms``."""

    def __init__(self, settings: SmsSettings, *, store: Store, audit: AuditLog, clock: Callable[[], datetime],
                 subjects: PhoneSubjects, propagation: SmsPropagation | None = None) -> None:
        self._settings = settings
        self._propagation = propagation
        self._store = store
        self._audit = audit
        self._clock = clock
        self._subjects = subjects

    def subscribe(self, conn: Connection, *, subject: str, bidx: str, list_id: str, level: str, meta: Meta,
                  lift: bool, now: datetime) -> bool:
        """Subscribe in ``conn`` with proof and audit; ``lift`` (possession of the number proven) also lifts a
        suppression of the program (or all programs). Returns whether anything changed."""
        changed = records.set_state(conn, subject=subject, list_id=list_id, state="subscribed", level=level,
                                    now=now, tables=SMS)
        if lift:
            changed |= records.is_suppressed(conn, bidx, list_id, SMS)
            if records.is_suppressed(conn, bidx, None, SMS):  # an all-programs opt-out: kept for the others
                records.unsuppress(conn, bidx=bidx, list_id=ALL, tables=SMS)
                for other in self._settings.lists:
                    if other != list_id:
                        records.suppress(conn, bidx=bidx, list_id=other, reason="unsubscribed", now=now,
                                         tables=SMS)
            records.unsuppress(conn, bidx=bidx, list_id=list_id, tables=SMS)
        records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action=f"opted_in_{level}"[:30],
                      meta=meta, now=now, tables=SMS, audit=self._audit)
        self._audit.append(conn, actor=meta.source, action="sms.opted_in", subject=subject, fields=["phone"],
                           meta={"list": list_id, "level": level, "text_version": meta.text_version})
        if changed:
            self._mirror(conn, subject, bidx, "confirmed_opt_in" if lift else "single_opt_in", now)
        return changed

    def _mirror(self, conn: Connection, subject: str, bidx: str, level: Literal["single_opt_in",
                "confirmed_opt_in", "unknown"], now: datetime) -> None:
        """Queue the number's new state for the platform (numbers tied to a platform customer only)."""
        if self._propagation is not None:
            self._propagation.enqueue(conn, subject, bidx, level=level, now=now)

    def opt_in(self, e164: str, list_id: str, meta: Meta, *, customer_ref: str | None,
               time_zone: str | None) -> Change:
        """An explicit opt-in without a code. It does not lift a suppression (anyone may type a number)."""
        self._settings.program(list_id)
        now = self._clock()
        with self._store.begin() as conn:
            subject, bidx = self._subjects.register(conn, e164, customer_ref=customer_ref, time_zone=time_zone)
            changed = self.subscribe(conn, subject=subject, bidx=bidx, list_id=list_id, level="opt_in", meta=meta,
                                     lift=False, now=now)
        return Change(subject, list_id, changed)

    def opt_out(self, e164: str, list_id: str, meta: Meta, *, reason: str = "unsubscribed") -> Change:
        """Leave ``list_id`` (``"*"``: every program, as a keyword STOP). Idempotent; committed on return."""
        self._settings.check_list(list_id)
        now = self._clock()
        with self._store.begin() as conn:
            # no number is stored for an opt-out: a STOP from a number never held leaves only its blind index
            subject, bidx = self._subjects.subject_of(e164), self._subjects.blind_index(e164)
            changed = False
            if list_id != ALL:
                changed = records.set_state(conn, subject=subject, list_id=list_id, state="unsubscribed",
                                            level="unknown", now=now, tables=SMS)
            changed |= records.suppress(conn, bidx=bidx, list_id=list_id, reason=reason[:40], now=now, tables=SMS)
            if changed:
                records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action="opted_out", meta=meta,
                              now=now, tables=SMS, audit=self._audit)
                self._audit.append(conn, actor=meta.source, action="sms.opted_out", subject=subject,
                                   fields=["phone"], meta={"list": list_id, "reason": reason[:40]})
                self._mirror(conn, subject, bidx, "unknown", now)
        log.info("sms opt-out of %s from %s (%s)", subject, list_id, "new" if changed else "repeat")
        return Change(subject, list_id, changed)

    def resume(self, e164: str, meta: Meta) -> Change:
        """START: lift the all-programs suppression a STOP added; programs opted into before resume."""
        now = self._clock()
        with self._store.begin() as conn:
            subject, bidx = self._subjects.subject_of(e164), self._subjects.blind_index(e164)
            changed = records.is_suppressed(conn, bidx, None, SMS)
            if changed:
                records.unsuppress(conn, bidx=bidx, list_id=ALL, tables=SMS)
                records.prove(conn, subject=subject, bidx=bidx, list_id=ALL, action="resumed", meta=meta, now=now,
                              tables=SMS, audit=self._audit)
                self._audit.append(conn, actor=meta.source, action="sms.resumed", subject=subject, fields=["phone"],
                                   meta={"list": ALL})
                self._mirror(conn, subject, bidx, "single_opt_in", now)
        return Change(subject, ALL, changed)

    def is_suppressed(self, e164: str, list_id: str | None = None) -> bool:
        """True when the number must not get marketing on ``list_id`` (``None``: suppressed from all)."""
        with self._store.begin(write=False) as conn:
            return records.is_suppressed(conn, self._subjects.blind_index(e164), list_id, SMS)

    def state(self, e164: str, list_id: str) -> str:
        """``subscribed``, ``unsubscribed`` (suppressed) or ``not_subscribed``."""
        self._settings.program(list_id)
        with self._store.begin(write=False) as conn:
            if records.is_suppressed(conn, self._subjects.blind_index(e164), list_id, SMS):
                return "unsubscribed"
            row = records.states(conn, self._subjects.subject_of(e164), SMS).get(list_id)
        return "subscribed" if row is not None and row.state == "subscribed" else "not_subscribed"

    def history(self, e164: str) -> list[dict[str, object]]:
        """Every opt-in, confirmation, opt-out and resumption of the number, oldest first."""
        with self._store.begin(write=False) as conn:
            return list(records.history(conn, self._subjects.blind_index(e164), SMS))
