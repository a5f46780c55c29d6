"""SMS consent as a source of rights requests (``sp.rights.register_source(sp.sms.rights_source())``): the
numbers held for the subject's phone and platform customer id — exported with their states and proof,
carried over on a corrected number, and erased (crypto-shredded) with the suppression and proof retained."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import InvalidInput
from ..rights.model import FieldOutcome, SourceReceipt, Subject
from .settings import ALL
from .tables import sms_subjects

if TYPE_CHECKING:
    from .service import Sms


class SmsRightsSource:
    """The rights-request view of ``sp.sms`` (a :class:`~shopprivacy.rights.sources.DataSource`)."""

    name = "shopprivacy-sms"

    def __init__(self, sms: Sms) -> None:
        self._sms = sms

    def _numbers(self, subject: Subject) -> list[str]:
        """E.164 numbers of the subject: its phone (when valid) and those recorded for its customer id."""
        found: list[str] = []
        if subject.phone:
            with contextlib.suppress(InvalidInput):
                found.append(self._sms.normalise(subject.phone))
        if subject.customer_id:
            with self._sms.store.begin(write=False) as conn:
                rows = conn.execute(select(sms_subjects).where(
                    sms_subjects.c.customer_ref == subject.customer_id)).all()
            found += [n for n in (self._sms.subjects.phone_of(r) for r in rows) if n]
        return list(dict.fromkeys(found))

    def find(self, subject: Subject) -> int:
        return sum(len(self._sms.history(n)) for n in self._numbers(subject))

    def export(self, subject: Subject) -> Mapping[str, Any]:
        sms = self._sms
        numbers = [{"number": n, "suppressed_everywhere": sms.is_suppressed(n),
                    "programs": {p: sms.state(n, p) for p in sms.settings.lists}, "consent_history": sms.history(n)}
                   for n in self._numbers(subject)]
        return {"sms": numbers} if numbers else {}

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        new, old = changes.get("phone"), subject.phone
        if not new or not old:
            return SourceReceipt(self.name)
        try:
            new, old = self._sms.normalise(new), self._sms.normalise(old)
        except InvalidInput:
            return SourceReceipt(self.name)
        carried = [ALL] if self._sms.is_suppressed(old) else [
            p for p in self._sms.settings.lists if self._sms.is_suppressed(old, p)]
        for program in carried:  # an opt-out follows the person to the corrected number
            self._sms.suppress(new, program, reason="rectified")
        return SourceReceipt(self.name, (FieldOutcome("sms_suppression", "corrected" if carried else "not_held",
                                                      "opt-outs carried to the corrected number", len(carried)),))

    def erase(self, subject: Subject) -> SourceReceipt:
        numbers = self._numbers(subject)
        if not numbers:
            return SourceReceipt(self.name)
        erased = 0
        for number in numbers:
            self._sms.suppress(number, ALL, reason="erased")  # durable first: never texted again
            erased += self._sms.erase(number, actor="rights")
        n = len(numbers)
        return SourceReceipt(self.name, (
            FieldOutcome("sms.number", "erased", "crypto-shredded", erased),
            FieldOutcome("sms.suppression", "retained", "keyed hash of the number only, so it is never texted again",
                         n),
            FieldOutcome("sms.consent_history", "retained",
                         "proof of consent and opt-outs (GDPR Art. 7(1)), by keyed hash only", n),
        ), rows=n)
