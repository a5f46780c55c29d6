"""Phone numbers: E.164 with ``phonenumbers`` (Google's libphonenumber metadata), and the time zones a number's
region spans (for quiet hours)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as _timezone

from ..errors import InvalidPhoneNumber

#: Longest input read as a phone number (E.164 has at most 15 digits; leave room for spaces and punctuation).
MAX_INPUT = 64


def to_e164(raw: str, default_region: str | None = None) -> str:
    """``raw`` as E.164 (``+33612345678``). A number without ``+CC`` is read in ``default_region``.

    :class:`~shopprivacy.errors.InvalidPhoneNumber` when it cannot be parsed or is not a valid number.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT:
        raise InvalidPhoneNumber("a phone number is 1 to 64 characters of text")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number (give its country code, e.g. +33 6 12 34 56 78)") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def time_zones(e164: str) -> tuple[str, ...]:
    """The IANA time zones the number's region (or area code) spans; empty when unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    found: list[str] = []
    for name in _timezone.time_zones_for_number(number):
        if name == _timezone.UNKNOWN_TIMEZONE:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # a zone this system's tz database lacks
            continue
        found.append(name)
    return tuple(found)


def region(e164: str) -> str | None:
    """The ISO 3166 region of a valid E.164 number (``None`` for non-geographic numbers)."""
    try:
        found = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return found if found and found != "001" else None
