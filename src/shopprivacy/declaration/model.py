"""The shop's data declaration: what it collects, why, how long, who receives it, which cookies it sets.

One TOML file the shop keeps in its repository (``SHOPPRIVACY_DECLARATION_FILE``), validated here. It drives
the privacy notice, the record of processing (GDPR Art. 30), the cookie table and the drift checks.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..consent.regions import ALPHA2, EU, EU_OWN_CODES
from ..retention.rules import parse_duration

_ID = r"^[a-z][a-z0-9_]{0,39}$"
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}\.(\*|[A-Za-z_][A-Za-z0-9_]{0,62})$")
Store = Literal["sdk", "shop", "platform"]
#: GDPR Art. 6(1) (a)-(f).
LegalBasis = Literal["consent", "contract", "legal_obligation", "vital_interests", "public_task",
                     "legitimate_interests"]
#: How personal data may leave the EEA: none needed inside the EEA, an adequacy decision (Art. 45), standard
#: contractual clauses or binding corporate rules (Art. 46), the EU-US Data Privacy Framework (adequacy, Art. 45).
Transfer = Literal["eea", "adequacy", "dpf", "scc", "bcr"]
ConsentCategory = Literal["necessary", "preferences", "analytics", "marketing", "sale_of_data"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text(value: Any) -> Any:
    """A text given once (English) or per language (``{en = "...", fr = "..."}``)."""
    return {"en": value} if isinstance(value, str) else value


def _country(value: Any) -> Any:
    if isinstance(value, str) and value.strip().upper() in ALPHA2:
        return value.strip().upper()
    raise ValueError("must be an ISO 3166-1 alpha-2 country code such as 'FR' or 'US'")


#: A text in one or several languages.
Text = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=2000)]], BeforeValidator(_text)]
Country = Annotated[str, BeforeValidator(_country)]
#: The EEA, where no transfer mechanism is needed.
EEA = frozenset(EU + EU_OWN_CODES + ("IS", "LI", "NO"))


class Controller(_Strict):
    """Who is responsible (GDPR Art. 13(1)(a)-(b))."""

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=400)
    email: str = Field(min_length=3, max_length=320)
    country: Country
    dpo_email: str | None = Field(None, max_length=320)
    #: The supervisory authority customers may complain to (Art. 13(2)(d)).
    authority: str | None = Field(None, max_length=200)


class DataCategory(_Strict):
    """Personal data of one kind: the fields that hold it, where, and how long it is kept."""

    name: Text
    #: ``"table.column"`` or ``"table.*"`` (platform data: the object kind, e.g. ``"customer.email"``).
    fields: tuple[str, ...] = Field(min_length=1)
    stored_in: Store
    #: Retention rules (by name) that enforce how long this data is kept, or a period stated in the notice
    #: (``keep_for``) with what starts it (``after``) where the shop enforces it itself.
    retention: tuple[str, ...] = ()
    keep_for: timedelta | None = None
    after: Text = Field(default_factory=dict)
    #: Special categories (Art. 9) need an explicit condition; say so here.
    special: bool = False

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not _FIELD.match(item):
                raise ValueError(f"{item[:60]!r} is not a field: write 'table.column' or 'table.*'")
        return value

    @field_validator("keep_for", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        # stored versions hold the ISO 8601 form ("P1095D") that pydantic writes
        return parse_duration(value) if isinstance(value, str) and not value.startswith("P") else value

    @property
    def tables(self) -> set[str]:
        return {f.split(".", 1)[0] for f in self.fields}


class Purpose(_Strict):
    """Why data is processed, on which legal basis (Art. 6(1)), with which data."""

    name: Text
    legal_basis: LegalBasis
    data: tuple[str, ...] = Field(min_length=1)
    #: For ``legitimate_interests``: the interest pursued (Art. 13(1)(d)).
    interest: Text = Field(default_factory=dict)
    #: For ``consent``: the banner category or the mailing list whose opt-in is the consent.
    consent_category: ConsentCategory | None = None
    consent_list: str | None = None

    @model_validator(mode="after")
    def _basis(self) -> Purpose:
        if self.legal_basis == "legitimate_interests" and not self.interest:
            raise ValueError("a purpose on legitimate interests must state the interest ('interest = \"...\"')")
        if self.legal_basis == "consent" and not (self.consent_category or self.consent_list):
            raise ValueError("a purpose on consent names its consent_category (banner) or consent_list (e-mail)")
        return self


class Processor(_Strict):
    """A recipient that processes data for the shop (Art. 28) or receives it (Art. 13(1)(e))."""

    name: str = Field(min_length=1, max_length=200)
    country: Country
    purposes: tuple[str, ...] = Field(min_length=1)
    data: tuple[str, ...] = Field(min_length=1)
    #: How the transfer is lawful; ``"eea"`` inside the EEA. Missing: ``doctor`` reports it.
    transfer: Transfer | None = None
    #: Date of the data processing agreement. Missing: ``doctor`` reports it.
    contract_date: date | None = None
    #: ``"processor"`` (acts for the shop) or ``"controller"`` (a recipient on its own account, e.g. a carrier).
    role: Literal["processor", "controller"] = "processor"

    @property
    def needs_transfer_mechanism(self) -> bool:
        return self.country not in EEA


class Cookie(_Strict):
    """A cookie or similar storage: an exact name or a prefix ending in ``*``."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[!#$%&'+\-.^_`|~0-9A-Za-z]+\*?$")
    category: ConsentCategory
    provider: str = Field(min_length=1, max_length=200)
    lifetime: str = Field(min_length=1, max_length=60)
    purpose: Text
    kind: Literal["cookie", "local_storage", "session_storage", "pixel"] = "cookie"

    def matches(self, name: str) -> bool:
        return name.startswith(self.name[:-1]) if self.name.endswith("*") else name == self.name


class Children(_Strict):
    """The age below which a child may not sign up or subscribe alone (GDPR Art. 8: 13-16 by member state)."""

    minimum_age: int = Field(16, ge=13, le=21)
    #: Country-specific thresholds, e.g. ``{ FR = 15, DE = 16, ES = 14 }``; others use ``minimum_age``.
    by_country: dict[Country, Annotated[int, Field(ge=13, le=21)]] = Field(default_factory=dict)

    def threshold(self, country: str | None) -> int:
        return self.by_country.get((country or "").upper(), self.minimum_age)


class Sunset(_Strict):
    """Contacts with no interaction for ``inactive_for`` leave the marketing ``lists`` (every list when empty);
    after ``erase_after`` without interaction their address is erased (kept suppressed by its blind index)."""

    inactive_for: timedelta
    erase_after: timedelta | None = None
    lists: tuple[str, ...] = ()

    @field_validator("inactive_for", "erase_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) and not value.startswith("P") else value

    @model_validator(mode="after")
    def _order(self) -> Sunset:
        if self.inactive_for < timedelta(days=30):
            raise ValueError("inactive_for must be at least 30 days")
        if self.erase_after is not None and self.erase_after <= self.inactive_for:
            raise ValueError("erase_after must be longer than inactive_for")
        return self


class Declaration(_Strict):
    """The whole file. Identifiers (the keys of ``data``, ``purposes``, ``processors``) are lower-case words."""

    #: The shop's own label for this version (e.g. a date); a digest of the content identifies it exactly.
    version: str = Field(min_length=1, max_length=40)
    controller: Controller
    data: dict[str, DataCategory] = Field(min_length=1)
    purposes: dict[str, Purpose] = Field(min_length=1)
    processors: dict[str, Processor] = Field(default_factory=dict)
    cookies: tuple[Cookie, ...] = ()
    children: Children = Field(default_factory=Children)
    #: Inactivity sunset of marketing contacts (none when absent).
    sunset: Sunset | None = None

    @field_validator("data", "purposes", "processors")
    @classmethod
    def _ids(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.match(_ID, key):
                raise ValueError(f"{key[:40]!r} is not an identifier: lower-case letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _references(self) -> Declaration:
        for pid, purpose in self.purposes.items():
            _known(f"purposes.{pid}.data", purpose.data, self.data)
        for name, proc in self.processors.items():
            _known(f"processors.{name}.purposes", proc.purposes, self.purposes)
            _known(f"processors.{name}.data", proc.data, self.data)
        used = {d for p in self.purposes.values() for d in p.data}
        unused = sorted(set(self.data) - used)
        if unused:
            raise ValueError(f"data {', '.join(unused)} serve no purpose: name them in a purpose's data")
        return self

    @property
    def consent_categories(self) -> list[str]:
        """The banner categories the declaration uses (cookies and consent purposes), necessary first."""
        used = {c.category for c in self.cookies} | {p.consent_category for p in self.purposes.values()
                                                     if p.consent_category}
        order = ("necessary", "preferences", "analytics", "marketing", "sale_of_data")
        return [c for c in order if c in used or c == "necessary"]


def _known(where: str, names: tuple[str, ...], known: dict[str, Any]) -> None:
    from ..hints import closest

    for name in names:
        if name not in known:
            near = closest(name, list(known))
            hint = f"; did you mean {near!r}?" if near else f"; declared: {', '.join(sorted(known)) or 'none'}"
            raise ValueError(f"{where} names {name!r}, which is not declared{hint}")
