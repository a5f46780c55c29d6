"""Region codes of Google Consent Mode: ISO 3166-1 alpha-2 countries and ISO 3166-2 subdivisions, and the named
presets a shop may write instead of a list."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Every officially assigned ISO 3166-1 alpha-2 code (249). "EU", "UK", "EL" and "XK" are not among them: Consent
#: Mode matches visitors by these codes only, so such a region would match nobody.
_ALPHA2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA
CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA
GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS
RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW
TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
ALPHA2 = frozenset(_ALPHA2.split())

#: The 27 EU member states (Greece is ``GR`` in ISO 3166, ``EL`` only in EU texts).
EU = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")
#: Parts of the EU with an ISO 3166-1 code of their own, which a visitor there is located by: Åland (Finland) and
#: France's outermost regions (Azores, Madeira and the Canaries are subdivisions of PT and ES, so already covered).
EU_OWN_CODES = ("AX", "GF", "GP", "MQ", "RE", "YT", "MF")
#: The EEA (the EU with Iceland, Liechtenstein and Norway), the United Kingdom (``GB``) and Switzerland.
EEA_UK_CH = EU + EU_OWN_CODES + ("IS", "LI", "NO", "GB", "CH")
#: Named presets a region list may contain (case-insensitive); each expands to its codes.
PRESETS: dict[str, tuple[str, ...]] = {"EEA+UK+CH": EEA_UK_CH}
#: ``sale_of_data`` regions only: every visitor, whether or not the page knows the region.
EVERYWHERE = "*"

_SUBDIVISION = re.compile(r"([A-Z]{2})-[A-Z0-9]{1,3}")
_HINT = {"EU": " (for the EU write its countries, or the preset 'EEA+UK+CH')", "UK": " (the United Kingdom is 'GB')",
         "EL": " (Greece is 'GR')", "EEA": " (write the preset 'EEA+UK+CH', or the countries)"}


def normalize_region(value: object) -> str:
    """``value`` as an upper-case ISO 3166-1 alpha-2 or ISO 3166-2 code; ValueError (one line) otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"region codes are strings, not {type(value).__name__}")
    code = value.strip().upper()
    if not code:
        raise ValueError("an empty region code: write ISO 3166 codes such as 'FR' or 'US-CA'")
    sub = _SUBDIVISION.fullmatch(code)
    if code in ALPHA2 or (sub and sub.group(1) in ALPHA2):
        return code
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ValueError(f"{shown!r} is not an ISO 3166-1 alpha-2 country code or an ISO 3166-2 subdivision code such "
                     f"as 'FR' or 'US-CA'{_HINT.get(code, '')}")


def parse_regions(value: object, *, everywhere: bool = False) -> list[str]:
    """A region list from a list or a text of codes and preset names separated by commas or spaces; codes
    upper-cased, presets expanded, duplicates dropped. ``everywhere`` allows the single entry ``"*"``."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("an empty region list: leave the setting out, or write codes such as 'FR, US-CA'")
        value = value.replace(",", " ").split()
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of ISO 3166 region codes such as [\"FR\", \"US-CA\"] or a preset name")
    if len(value) > 500:
        raise ValueError("lists more than 500 regions")
    out: list[str] = []
    for item in value:
        if everywhere and item == EVERYWHERE:
            codes: Iterable[str] = (EVERYWHERE,)
        elif isinstance(item, str) and item.strip().upper() in PRESETS:
            codes = PRESETS[item.strip().upper()]
        else:
            codes = (normalize_region(item),)
        out.extend(c for c in codes if c not in out)
    if EVERYWHERE in out and len(out) > 1:
        raise ValueError("'*' (every visitor) stands alone")
    return out

