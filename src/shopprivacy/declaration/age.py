"""The age gate for sign-up and newsletter forms: the declared minimum age per country, checked from a birth date
or a self-declaration, storing only that the person is over the threshold and when — never the birth date."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidInput, UnderAge
from ..fields.blind_index import normalise
from ..keys import Keyring
from ..store.engine import Store
from .model import Children
from .tables import age_confirmations
from .texts import Words

#: The form field's name (a checkbox, or a birth date the gate reads and drops).
FIELD = "sp_age_confirm"
BIRTH_DATE_FIELD = "sp_birth_date"


@dataclass(frozen=True)
class AgeConfirmation:
    country: str | None
    threshold: int
    method: str
    confirmed_at: datetime


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _identifier(subject: str) -> str:
    """An e-mail address trimmed and casefolded, as rights requests hold it; a customer id exactly as given (ids
    that differ only in case are different customers)."""
    if "@" not in subject:
        return subject
    try:
        return normalise(subject, "email")
    except InvalidInput:  # not an address after all: an id, kept exact
        return subject


class AgeGate:
    """``sp.declaration.age_gate``: thresholds from the declaration's ``[children]`` (16 without one)."""

    def __init__(self, children: Children, *, store: Store, keyring: Keyring, clock: Callable[[], datetime]) -> None:
        self.children, self.store, self.keyring, self.clock = children, store, keyring, clock

    def minimum(self, country: str | None = None) -> int:
        """The declared minimum age in ``country`` (ISO 3166-1 alpha-2; ``None``: the default)."""
        return self.children.threshold(country)

    def _key(self, subject: str) -> str:
        if not isinstance(subject, str) or not 0 < len(subject) <= 320 or "\x00" in subject:
            raise InvalidInput("subject must be the customer's id or e-mail address (1-320 characters)")
        return self.keyring.pseudonym(_identifier(subject), namespace="age", length=32)

    def check_form(self, form: Mapping[str, str], country: str | None = None) -> tuple[str, int]:
        """(method, threshold) from a submitted form: the checkbox ``sp_age_confirm`` ticked, or a birth date
        (``sp_birth_date``, YYYY-MM-DD) old enough. Raises UnderAge (too young) or InvalidInput (missing or bad)."""
        threshold = self.minimum(country)
        raw = (form.get(BIRTH_DATE_FIELD) or "").strip()
        if raw:
            try:
                birth = date.fromisoformat(raw[:10]) if len(raw) == 10 else None
            except ValueError:
                birth = None
            today = self.clock().date()
            if birth is None or birth > today or today.year - birth.year > 130:
                raise InvalidInput("the birth date must be a real date such as 2001-04-30")
            if age_on(birth, today) < threshold:
                raise UnderAge(threshold)
            return "birth_date", threshold
        if form.get(FIELD) in ("1", "on", "yes", "true"):
            return "self_declared", threshold
        raise UnderAge(threshold)

    def confirm(self, subject: str, form: Mapping[str, str], country: str | None = None, *,
                conn: Connection | None = None) -> AgeConfirmation:
        """Check ``form`` (see :meth:`check_form`) and record that ``subject`` is over the threshold; the birth date
        is not kept. Raises before anything is written when the check fails."""
        method, threshold = self.check_form(form, country)
        key = self._key(subject)
        done = AgeConfirmation((country or "").upper()[:2] or None, threshold, method, self.clock())
        row: dict[str, object] = {"country": done.country, "threshold": threshold, "method": method,
                                  "confirmed_at": done.confirmed_at}
        if conn is None:
            with self.store.begin() as own:
                self._write(own, key, row)
        else:
            self._write(conn, key, row)
        return done

    @staticmethod
    def _write(conn: Connection, key: str, row: dict[str, object]) -> None:
        found = conn.execute(select(age_confirmations.c.subject).where(age_confirmations.c.subject == key)).first()
        if found is None:
            conn.execute(insert(age_confirmations).values(subject=key, **row))
        else:
            conn.execute(update(age_confirmations).where(age_confirmations.c.subject == key).values(**row))

    def confirmation(self, subject: str) -> AgeConfirmation | None:
        """What was recorded for ``subject`` (for exports), or ``None``."""
        with self.store.begin(write=False) as conn:
            r = conn.execute(select(age_confirmations).where(age_confirmations.c.subject == self._key(subject))).first()
        return None if r is None else AgeConfirmation(r.country, r.threshold, r.method, r.confirmed_at)

    def forget(self, subject: str, *, conn: Connection | None = None) -> bool:
        """Delete the subject's confirmation (erasure). True if one existed."""
        q = delete(age_confirmations).where(age_confirmations.c.subject == self._key(subject))
        if conn is not None:
            return bool(conn.execute(q).rowcount)
        with self.store.begin() as own:
            return bool(own.execute(q).rowcount)

    def field_html(self, country: str | None = None, locale: str | None = None, *, field_id: str = "sp-age") -> str:
        """A labelled, required checkbox "I am at least N years old" for a sign-up or newsletter form."""
        w = Words(locale)
        label = w("age_label", age=self.minimum(country))
        fid = escape(field_id)
        return (f'<p><input type="checkbox" id="{fid}" name="{FIELD}" value="1" required> '
                f'<label for="{fid}">{escape(label)}</label></p>')

    def refusal(self, exc: UnderAge, locale: str | None = None) -> str:
        """The sentence to show when the gate refuses (no data was kept)."""
        return Words(locale)("age_refused", age=exc.threshold)


class AgeSource:
    """The age confirmations as a rights source: exported and erased with the customer (by e-mail or id)."""

    name = "age_confirmation"

    def __init__(self, gate: AgeGate) -> None:
        self.gate = gate

    @staticmethod
    def _ids(subject: Any) -> list[str]:
        return [v for v in (getattr(subject, "email", None), getattr(subject, "customer_id", None)) if v]

    def find(self, subject: Any) -> int:
        return sum(self.gate.confirmation(i) is not None for i in self._ids(subject))

    def export(self, subject: Any) -> Mapping[str, Any]:
        found = [c for c in (self.gate.confirmation(i) for i in self._ids(subject)) if c is not None]
        return {"confirmations": [{"over_age": c.threshold, "country": c.country, "method": c.method,
                                   "at": c.confirmed_at.isoformat()} for c in found]} if found else {}

    def rectify(self, subject: Any, changes: Mapping[str, str]) -> Any:
        from ..rights.model import SourceReceipt

        return SourceReceipt(self.name)

    def erase(self, subject: Any) -> Any:
        from ..rights.model import FieldOutcome, SourceReceipt

        gone = sum(self.gate.forget(i) for i in self._ids(subject))
        return SourceReceipt(self.name, (FieldOutcome("age_confirmation", "erased" if gone else "not_held", "", gone),),
                             rows=gone)
