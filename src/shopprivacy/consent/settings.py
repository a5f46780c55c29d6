"""Settings of cookie consent (``SHOPPRIVACY_CONSENT__*``): the declared categories and the banner."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..urls import parse_origin
from .regions import parse_regions

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

#: Categories the SDK knows, in display order. ``necessary`` is always on; the rest are off until chosen.
KNOWN = ("necessary", "preferences", "analytics", "marketing", "sale_of_data")
OPTIONAL = KNOWN[1:]

#: Google Consent Mode v2 signals the banner sets (``security_storage`` is always granted).
SIGNALS = ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization", "functionality_storage",
           "personalization_storage")
#: Signals granted by each category: right for EU shops. ``sale_of_data`` grants nothing; denied, it only narrows
#: marketing's signals for visitors in ``consent_mode_sale_of_data_regions``.
DEFAULT_CONSENT_MODE: dict[str, list[str]] = {
    "preferences": ["functionality_storage", "personalization_storage"],
    "analytics": ["analytics_storage"],
    "marketing": ["ad_storage", "ad_user_data", "ad_personalization"],
}


class CookieDecl(BaseModel):
    """A cookie a category sets: exact name or a prefix ending in ``*``; optional domain."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=100)
    domain: str | None = None


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Localised name and description; missing languages fall back to the banner's built-in texts.
    names: dict[str, str] = Field(default_factory=dict)
    descriptions: dict[str, str] = Field(default_factory=dict)
    cookies: list[CookieDecl] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    #: Must stay False for every optional category (privacy by default); declaring True is refused.
    default: bool = False


class ConsentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, Category] = Field(default_factory=lambda: {k: Category() for k in KNOWN})
    cookie_name: str = "sp_consent"
    #: Consent is asked again after this many days (CNIL reference 6 months; at most 13 months).
    max_age_days: int = Field(182, ge=1, le=395)
    #: Consent Mode signals each optional category grants (a signal is granted when any category naming it is).
    consent_mode: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_CONSENT_MODE))
    #: Regions (ISO 3166-1 alpha-2 or ISO 3166-2 codes, or the preset ``"EEA+UK+CH"``) the Consent Mode default
    #: applies to; empty means everywhere.
    consent_mode_regions: list[str] = Field(default_factory=list)
    #: Regions where a visitor who does not grant ``sale_of_data`` gets marketing's signals denied even with
    #: marketing granted (US state laws' opt-out of sale and sharing). Visitors are placed by the region the page
    #: passes to the banner; ``"*"`` narrows for every visitor, ``[]`` never.
    consent_mode_sale_of_data_regions: list[str] = Field(default_factory=lambda: ["US"])
    #: Path of the static assets and the consent endpoint below the public base URL.
    path_prefix: str = "/privacy"
    #: Link to the shop's privacy policy, shown in the banner.
    policy_url: str | None = None
    #: ``lastUpdate`` of ``/.well-known/gpc.json``: the date the shop's GPC handling last changed.
    gpc_last_update: date = date(2026, 11, 24)
    #: Storefront origins (``https://shop.example``) whose pages may embed the banner and post choices to the
    #: consent endpoint from another origin (CORS). Empty: only the backend's own pages (and pages served
    #: through a same-origin proxy) may. A JSON list, or origins separated by commas or spaces.
    allowed_origins: list[str] = Field(default_factory=list)
    #: The shop's own wording of the banner, per language: ``{"en": {"title": "Cookies?"}}``. Keys are the
    #: banner's (``consent/static/locales/en.json``); a text keeps the ``{placeholders}`` of the one it replaces.
    texts: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _allowed_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a list of origins such as [\"https://shop.example\"]")
        if len(value) > 100:
            raise ValueError("lists more than 100 origins")
        out: list[str] = []
        for item in value:
            origin = parse_origin(item)
            if origin not in out:
                out.append(origin)
        return out

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from ..hints import closest
        from ..i18n import catalog

        english = catalog("shopprivacy.consent.static", "en")
        for lang, texts in value.items():
            if not 2 <= len(lang) <= 35 or not lang.replace("-", "").isalnum():
                raise ValueError(f"{lang[:40]!r} is not a language tag such as 'en' or 'pt-BR'")
            for key, text in texts.items():
                if key not in english:
                    near = closest(key, english)
                    raise ValueError(f"{key!r} is not a banner text" + (f"; did you mean {near!r}?" if near else
                                                                         f" (known: {', '.join(english)})"))
                if set(_PLACEHOLDER.findall(text)) != set(_PLACEHOLDER.findall(english[key])) or len(text) > 2000:
                    raise ValueError(f"the {lang} text of {key!r} must keep the placeholders "
                                     f"{sorted(set(_PLACEHOLDER.findall(english[key]))) or 'of none'} "
                                     "and stay under 2000 characters")
        return {lang.lower(): dict(texts) for lang, texts in value.items()}

    @field_validator("consent_mode_regions", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> Any:
        return parse_regions(value)

    @field_validator("consent_mode_sale_of_data_regions", mode="before")
    @classmethod
    def _sale_regions(cls, value: Any) -> Any:
        return parse_regions(value, everywhere=True)

    @field_validator("consent_mode")
    @classmethod
    def _consent_mode(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for category, signals in value.items():
            if category not in OPTIONAL:
                raise ValueError(f"{category!r} is not an optional category (known: {', '.join(OPTIONAL)})")
            unknown = [s for s in signals if s not in SIGNALS]
            if unknown:
                raise ValueError(f"{unknown[0]!r} is not a Consent Mode signal (known: {', '.join(SIGNALS)})")
        return value

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, Category]) -> dict[str, Category]:
        unknown = set(value) - set(KNOWN)
        if unknown:
            raise ValueError(f"unknown consent categories: {', '.join(sorted(unknown))} (known: {', '.join(KNOWN)})")
        for name, cat in value.items():
            if name != "necessary" and cat.default:
                raise ValueError(f"category {name!r} defaults to on: optional categories must be off until chosen")
        return {"necessary": value.get("necessary", Category()), **{k: v for k, v in value.items() if k != "necessary"}}

    @model_validator(mode="after")
    def _cookie_name(self) -> ConsentSettings:
        if not self.cookie_name.replace("_", "").replace("-", "").isalnum():
            raise ValueError("cookie_name must be letters, digits, '-' or '_'")
        return self
