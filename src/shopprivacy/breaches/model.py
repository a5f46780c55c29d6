"""The incident a shop records (validated with pydantic: bad input is an :class:`InvalidInput` and nothing is
written) and the breach as the register holds it, with its 72-hour clock (GDPR Art. 33(1))."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from ..errors import InvalidInput

#: Art. 33(1): the authority is told without undue delay and, where feasible, within 72 hours of awareness.
AUTHORITY_DEADLINE = timedelta(hours=72)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LOCALE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
_NAME = r"^[a-z0-9][a-z0-9_.:-]{0,79}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Name = Annotated[str, StringConstraints(pattern=_NAME)]
Locale = Annotated[str, StringConstraints(pattern=_LOCALE)]
Kind = Literal["confidentiality", "integrity", "availability"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_control_characters(self) -> _Strict:
        for name, value in self:
            texts = value if isinstance(value, (list, tuple)) else [value]
            if any(isinstance(t, str) and _CONTROL.search(t) for t in texts):
                raise ValueError(f"{name} holds control characters")
        return self


class NoticeText(_Strict):
    """The incident's own words in one language, for the notices to subjects (Art. 34(2))."""

    nature: Text
    consequences: Text
    measures: Text


class Scope(_Strict):
    """What the breach reached, in the SDK's terms: the stores (``email``, the shop's registered sources) and
    fields (``store.field``; none named: every field of those stores), the window in which the audit's reads and
    writes count, and whether the keys of the encrypted fields were compromised too."""

    stores: list[Name] = Field(default_factory=list, max_length=40)
    fields: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,79}\.[A-Za-z0-9_]{1,80}$")]] = (
        Field(default_factory=list, max_length=200))
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    keys_compromised: bool = False

    @model_validator(mode="after")
    def _window(self) -> Scope:
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("give both window_start and window_end, or neither")
        if self.window_start and self.window_end and self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        unknown = sorted({f.rsplit(".", 1)[0] for f in self.fields} - set(self.stores))
        if unknown:
            raise ValueError(f"fields name stores not in scope: {', '.join(unknown[:5])}")
        return self


class _Details(_Strict):
    #: The controller: the shop's (legal) name, as the authority and the subjects know it.
    controller: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    nature: Text
    kinds: list[Kind] = Field(min_length=1, max_length=3)
    data_categories: list[Label] = Field(min_length=1, max_length=30)
    subject_categories: list[Label] = Field(min_length=1, max_length=30)
    approx_subjects: int | None = Field(None, ge=0, le=10**10)
    approx_records: int | None = Field(None, ge=0, le=10**12)
    consequences: Text
    measures: Text
    contact: Text
    occurred_from: AwareDatetime | None = None
    occurred_until: AwareDatetime | None = None
    #: Art. 34(1): whether the breach is likely to result in a high risk to people (None: not assessed yet).
    high_risk: bool | None = None
    locale: Locale = "en"
    translations: dict[Locale, NoticeText] = Field(default_factory=dict, max_length=20)
    scope: Scope = Field(default_factory=Scope)

    @model_validator(mode="after")
    def _occurred(self) -> _Details:
        if self.occurred_from and self.occurred_until and self.occurred_until < self.occurred_from:
            raise ValueError("occurred_until is before occurred_from")
        return self


class Incident(_Details):
    """An incident as the operator records it; ``discovered_at`` (when the shop became aware) starts the clock."""

    discovered_at: AwareDatetime


class IncidentUpdate(_Strict):
    """A later phase (Art. 33(4)): the fields given replace the recorded ones; awareness time cannot move."""

    controller: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    nature: Text | None = None
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=3)
    data_categories: list[Label] | None = Field(None, min_length=1, max_length=30)
    subject_categories: list[Label] | None = Field(None, min_length=1, max_length=30)
    approx_subjects: int | None = Field(None, ge=0, le=10**10)
    approx_records: int | None = Field(None, ge=0, le=10**12)
    consequences: Text | None = None
    measures: Text | None = None
    contact: Text | None = None
    occurred_from: AwareDatetime | None = None
    occurred_until: AwareDatetime | None = None
    high_risk: bool | None = None
    locale: Locale | None = None
    translations: dict[Locale, NoticeText] | None = Field(None, max_length=20)
    scope: Scope | None = None


def _invalid(exc: ValidationError, what: str) -> InvalidInput:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or what
    return InvalidInput(f"{what}: {where}: {err['msg']}"[:300])


def _document(data: str | bytes | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidInput(f"{what}: not valid JSON") from None
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{what}: must be a JSON object")
    return data


def parse_incident(data: str | bytes | Mapping[str, Any]) -> Incident:
    """An :class:`Incident` from JSON text or a mapping; :class:`InvalidInput` naming the first problem."""
    doc = _document(data, "incident")
    try:
        return Incident.model_validate(doc)
    except ValidationError as exc:
        raise _invalid(exc, "incident") from None


def parse_update(data: str | bytes | Mapping[str, Any]) -> IncidentUpdate:
    """An :class:`IncidentUpdate` from JSON text or a mapping (at least one field)."""
    doc = _document(data, "update")
    try:
        update = IncidentUpdate.model_validate(doc)
    except ValidationError as exc:
        raise _invalid(exc, "update") from None
    if not update.model_fields_set:
        raise InvalidInput("update: name at least one field to change")
    return update


def merged(incident: Incident, update: IncidentUpdate) -> tuple[Incident, list[str]]:
    """The incident with the update's fields applied (validated again), and the names that changed."""
    given = update.model_dump(include=update.model_fields_set)
    before = incident.model_dump()
    changed = sorted(k for k, v in given.items() if before.get(k) != v)
    try:
        return Incident.model_validate({**before, **given}), changed
    except ValidationError as exc:
        raise _invalid(exc, "update") from None


@dataclass(frozen=True)
class Breach:
    """A breach as the register holds it. ``authority``: ``pending`` (the clock runs), ``reported`` or
    ``not_required`` (unlikely to result in a risk, with the reason)."""

    id: str
    state: str
    incident: Incident
    aware_at: datetime
    authority_due_at: datetime
    authority: str
    opened_at: datetime
    reported_at: datetime | None = None
    report_reference: str | None = None
    delay_reason: str | None = None
    not_required_reason: str | None = None
    assessment: Mapping[str, Any] | None = None
    exemption: str | None = None
    closed_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        """True while the authority has not been told and the 72 hours are over."""
        return self.authority == "pending" and now > self.authority_due_at

    def time_left(self, now: datetime) -> timedelta:
        """Time until the authority deadline (negative once it passed)."""
        return self.authority_due_at - now
