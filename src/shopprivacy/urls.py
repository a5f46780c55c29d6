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


__all__ = ["DEFAULT_PORTS", "MAX_URL_CHARS", "http_url"]
