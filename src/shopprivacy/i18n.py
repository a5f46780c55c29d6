"""Localisation: language negotiation and per-capability JSON catalogs (pages, mails, banners, archives).

Each capability ships ``<package>/locales/<tag>.json`` (flat ``{"key": "text with {placeholders}"}``);
adding a language is adding one file. Missing keys fall back to English.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an ``Accept-Language`` header, best first (malformed parts are skipped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*" or len(tag) > 35 or not tag.replace("-", "").isalnum():
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(available: frozenset[str] | set[str], *, requested: str | None = None,
              accept_language: str | None = None, default: str = "en") -> str:
    """The best available language: an explicit ``requested`` tag first, then ``Accept-Language``."""
    candidates = ([requested.lower()] if requested else []) + parse_accept_language(accept_language)
    for tag in candidates:
        if tag in available:
            return tag
        base = tag.split("-", 1)[0]
        if base in available:
            return base
    return default if default in available else "en"


def direction(locale: str) -> str:
    """``"rtl"`` for right-to-left languages, else ``"ltr"``."""
    return "rtl" if locale.split("-", 1)[0] in RTL_LANGUAGES else "ltr"


@lru_cache(maxsize=64)
def catalog(package: str, locale: str) -> dict[str, str]:
    """The messages of ``package`` for ``locale`` merged over English."""
    base = _load(package, "en")
    return {**base, **_load(package, locale)} if locale != "en" else base


@lru_cache(maxsize=32)
def available_locales(package: str) -> frozenset[str]:
    folder = resources.files(package).joinpath("locales")
    return frozenset(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def _load(package: str, locale: str) -> dict[str, str]:
    path = resources.files(package).joinpath("locales").joinpath(f"{locale}.json")
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}
