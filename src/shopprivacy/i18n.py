"""Localisation: language negotiation and per-capability JSON catalogs (pages, mails, banners, archives).

Each capability ships ``<package>/locales/<tag>.json`` (flat ``{"key": "text with {placeholders}"}``), named by
its BCP 47 tag with the region in capitals (``pt-BR.json``, ``zh.json``); adding a language is adding one file.
Missing keys fall back to English. :func:`negotiate` picks a file for a request (docs/languages.md).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

#: Languages written right to left (primary subtags); a tag whose script subtag is one of :data:`RTL_SCRIPTS`
#: is right to left too (``pa-Arab``).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "iw", "yi", "ps", "ckb", "dv", "sd", "ug"})
RTL_SCRIPTS = frozenset({"arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg"})
#: Primary subtags read as another language's file: deprecated codes (``iw``, ``in``, ``ji``) and Norwegian,
#: whose Bokmål (``nb``) and Nynorsk (``nn``) requests are served by the one ``no`` file.
ALIASES = {"iw": "he", "in": "id", "ji": "yi", "nb": "no", "nn": "no"}
_TAG = re.compile(r"^[a-z]{1,8}(-[a-z0-9]{1,8})*$")
#: Most parts of an ``Accept-Language`` header read (the rest is ignored).
MAX_LANGUAGES = 20


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags (lower case) from an ``Accept-Language`` header, best first.

    ``q`` weights order them (``q=0`` excludes a tag, equal weights keep the header's order); ``*`` and malformed
    parts are skipped."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:MAX_LANGUAGES]):
        tag, *params = (p.strip() for p in part.split(";"))
        tag = tag.lower().replace("_", "-")
        if len(tag) > 35 or not _TAG.match(tag):
            continue
        q = _quality(params)
        if q is not None and q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _quality(params: list[str]) -> float | None:
    """The ``q`` of a part's parameters (1 without one); None for a malformed one (RFC 9110: 0 to 1, 3 decimals)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            if not re.fullmatch(r"0(\.\d{0,3})?|1(\.0{0,3})?", value):
                return None
            return float(value)
    return 1.0


def _lookups(tag: str) -> list[str]:
    """Lower-case file tags to try for one requested tag, closest first: RFC 4647 lookup (drop the last subtag
    until one matches) with the script left out before the region is (``pt-Latn-BR`` -> ``pt-BR``), first for the
    tag as given, then with its primary subtag read through :data:`ALIASES`."""
    out: list[str] = []
    for primary in dict.fromkeys((tag.split("-", 1)[0], ALIASES.get(tag.split("-", 1)[0], tag.split("-", 1)[0]))):
        parts = [primary, *tag.split("-")[1:]]
        while parts:
            out.append("-".join(parts))
            if len(parts) >= 3 and len(parts[1]) == 4 and parts[2].isalpha():  # language-Script-REGION
                out.append("-".join([parts[0], parts[2]]))
            parts = parts[:-1]
    return list(dict.fromkeys(out))


def match(available: Iterable[str], tag: str) -> str | None:
    """The file tag of ``available`` that serves ``tag`` (any case), or None (see :func:`_match`); remembered
    for the last 1,024 (available, tag) pairs, as every page asks again for the same few."""
    return _match(available if isinstance(available, frozenset) else frozenset(available), tag)


@functools.lru_cache(maxsize=1024)
def _match(available: frozenset[str], tag: str) -> str | None:
    """The file tag of ``available`` that serves ``tag`` (any case), or None.

    Tried in order: the tag itself; shorter forms (``de-CH-1996`` -> ``de-CH`` -> ``de``), after mapping ``iw``
    to ``he`` and ``nb`` / ``nn`` to ``no``; then any other file of the same language, ``pt-BR`` before other
    regions (so ``pt-PT`` gets ``pt`` and else ``pt-BR``, ``pt`` gets ``pt-BR`` when there is no ``pt``)."""
    by_lower = {a.lower(): a for a in available}
    tag = tag.strip().lower().replace("_", "-")
    if not tag or len(tag) > 35 or not _TAG.match(tag):
        return None
    for candidate in _lookups(tag):
        if candidate in by_lower:
            return by_lower[candidate]
    primary = ALIASES.get(tag.split("-", 1)[0], tag.split("-", 1)[0])
    same = sorted(k for k in by_lower if k.split("-", 1)[0] == primary)
    preferred = [k for k in same if k == "pt-br"] + [k for k in same if k != "pt-br"]
    return by_lower[preferred[0]] if preferred else None


def negotiate(available: frozenset[str] | set[str], *, requested: str | None = None,
              accept_language: str | None = None, default: str = "en") -> str:
    """The best available language (a file tag of ``available``): an explicit ``requested`` tag first, then
    ``Accept-Language`` by weight, then ``default``, then English. See :func:`match` for how a tag finds a file."""
    candidates = ([requested] if requested else []) + parse_accept_language(accept_language)
    for tag in candidates:
        found = match(available, tag)
        if found is not None:
            return found
    return match(available, default) or "en"


def direction(locale: str) -> str:
    """``"rtl"`` for right-to-left languages (and scripts, as in ``pa-Arab``), else ``"ltr"``."""
    parts = locale.lower().replace("_", "-").split("-")
    rtl = parts[0] in RTL_LANGUAGES or (len(parts) > 1 and parts[1] in RTL_SCRIPTS)
    return "rtl" if rtl else "ltr"


@lru_cache(maxsize=256)
def catalog(package: str, locale: str) -> dict[str, str]:
    """The messages of ``package`` for ``locale`` merged over English."""
    base = _load(package, "en")
    return {**base, **_load(package, locale)} if locale != "en" else base


@lru_cache(maxsize=32)
def available_locales(package: str) -> frozenset[str]:
    """The file tags of ``package``'s catalogs (``locales/<tag>.json``), as spelled in the file names."""
    folder = resources.files(package).joinpath("locales")
    return frozenset(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def _load(package: str, locale: str) -> dict[str, str]:
    path = resources.files(package).joinpath("locales").joinpath(f"{locale}.json")
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}
