"""Settings of SMS marketing consent (``SHOPPRIVACY_SMS__*``)."""

from __future__ import annotations

import re
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..email.settings import ALL as ALL
from ..email.settings import MailingList
from ..errors import NotFoundError
from ..i18n import available_locales, catalog, match, negotiate

_REGION = re.compile(r"^[A-Z]{2}$")
#: The package holding the SDK's own SMS texts (``locales/<tag>.json``).
LOCALES = "shopprivacy.sms"


class SmsSettings(BaseModel):
    """Programs (lists), the default region, quiet hours, confirmation codes and the inbound webhook."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The SMS programs the shop sends, by id (same shape as e-mail lists; transactional ones are never blocked).
    lists: dict[str, MailingList] = Field(default_factory=lambda: {"marketing": MailingList(
        names={"en": "Marketing texts"})})
    #: ISO 3166 region used to read numbers written without a country code (``None``: require ``+CC``).
    default_region: str | None = None
    #: Time zone used when neither a stored zone nor the number's region names one.
    default_time_zone: str = "UTC"
    #: No marketing text between these local times of the recipient (TCPA: before 8:00 and after 21:00).
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    #: Confirmation codes: digits, lifetime, wrong guesses allowed, and sends per number and window.
    code_digits: int = Field(6, ge=4, le=10)
    code_max_age_minutes: int = Field(10, ge=1, le=24 * 60)
    code_attempts: int = Field(5, ge=1, le=20)
    resend_limit: int = Field(3, ge=1, le=50)
    resend_window_hours: int = Field(24, ge=1, le=24 * 30)
    #: Twilio: the account's auth token (signs inbound webhooks) and, optionally, the account SID to expect.
    twilio_auth_token: SecretStr | None = None
    twilio_account_sid: str | None = None
    #: The exact URL configured in Twilio for inbound messages (it is what Twilio signs). Default: the public
    #: base URL's origin with the request's path and query.
    inbound_url: str | None = None
    #: Name in texts, HELP answers and code texts per language; optional replies to STOP and START.
    shop_name: str = "Our shop"
    #: The shop's own HELP answer / code text per language (``{shop}``, ``{code}`` are filled in); a language
    #: not given here uses the SDK's texts (``sms/locales/<tag>.json``, keys ``help`` and ``code``).
    help_text: dict[str, str] = Field(default_factory=dict)
    code_text: dict[str, str] = Field(default_factory=dict)
    stop_reply: str | None = None
    start_reply: str | None = None
    #: Extra keywords (upper case) besides the standard ones (see :mod:`shopprivacy.sms.keywords`).
    extra_stop_keywords: tuple[str, ...] = ()
    extra_start_keywords: tuple[str, ...] = ()

    def program(self, list_id: str) -> MailingList:
        """The declared program; NotFoundError for an unknown id."""
        try:
            return self.lists[list_id]
        except KeyError:
            raise NotFoundError(f"unknown SMS program {list_id!r}") from None

    def check_list(self, list_id: str) -> None:
        """NotFoundError unless ``list_id`` is a declared program or ``"*"`` (every program)."""
        if list_id != ALL:
            self.program(list_id)

    def text(self, kind: Literal["help", "code"], locale: str, **values: str) -> str:
        """The ``help`` answer or ``code`` text in ``locale``: the shop's own for that language,
        else the SDK's catalog in the nearest language it has, else the shop's English; ``{shop}`` and
        ``values`` filled in."""
        table = self.help_text if kind == "help" else self.code_text
        own, lang = match(table, locale), negotiate(available_locales(LOCALES), requested=locale)
        template = ((table[own] if own else "")
                    or (catalog(LOCALES, lang)[kind] if lang != "en" else "")
                    or table.get("en") or catalog(LOCALES, "en")[kind])
        return template.replace("{shop}", self.shop_name).replace("{code}", values.get("code", ""))

    @field_validator("lists")
    @classmethod
    def _ids(cls, value: dict[str, MailingList]) -> dict[str, MailingList]:
        for list_id in value:
            if not list_id or len(list_id) > 60 or not list_id.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"program id {list_id!r} must be 1-60 letters, digits, '-' or '_'")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("default_region is an ISO 3166 two-letter code in capitals, e.g. 'US' or 'FR'")
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("extra_stop_keywords", "extra_start_keywords")
    @classmethod
    def _keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k.strip().upper() for k in value if k.strip())
