"""Absolute http(s) URLs read from outside (a ``Referer``, the page a consent was given on), parsed totally.

A neutral module: the consent capability stores page URLs and the web kit compares origins, and neither
imports the other.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

#: Longest URL the SDK reads from a request (``Referer``, a consent's page).
MAX_URL_CHARS = 2048

_URL_TEXT = re.compile(r"[!-~]+")  # what browsers send: printable ASCII, no space
DEFAULT_PORTS = {"https": 443, "http": 80}


def http_url(value: object, *, max_chars: int = MAX_URL_CHARS) -> SplitResult | None:
    """``value`` split as an absolute http(s) URL with a host, or ``None`` for anything else: not text, longer
    than ``max_chars``, other than printable ASCII, with user info, or not parseable (e.g. ``http://[::1``)."""
    if not isinstance(value, str) or len(value) > max_chars or not _URL_TEXT.fullmatch(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc \
            or "\\" in parts.netloc:
        return None
    return parts


def serialised_origin(parts: SplitResult) -> str:
    """The origin of a split http(s) URL as browsers serialise it: lower case, no default port."""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = "" if parts.port in (None, DEFAULT_PORTS.get(scheme)) else f":{parts.port}"
    return f"{scheme}://{host}{port}"


def parse_origin(value: object) -> str:
    """``value`` as a serialised web origin (``scheme://host[:port]``: lower case, no default port), for
    settings that list origins. ``ValueError`` with a one-line fix for anything else: a path, query or
    fragment, user info, a wildcard, another scheme."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an origin must be text such as https://shop.example")
    text = value.strip()
    if "*" in text:
        raise ValueError(f"{text!r}: wildcards are not allowed; list each storefront origin, "
                         "e.g. https://shop.example")
    parts = http_url(text, max_chars=300)
    if parts is None:
        raise ValueError(f"{text!r} is not an origin: write scheme://host[:port], e.g. https://shop.example")
    origin = serialised_origin(parts)
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(f"{text!r} is not an origin (it has a path, query or fragment): did you mean {origin!r}?")
    if parts.path == "/":
        raise ValueError(f"{text!r} is not an origin (browsers send no trailing slash): did you mean {origin!r}?")
    return origin


__all__ = ["DEFAULT_PORTS", "MAX_URL_CHARS", "http_url", "parse_origin", "serialised_origin"]
