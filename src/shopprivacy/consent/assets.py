"""The banner's static files: read once, trimmed and gzip-compressed once, versioned by their content.

The script is served without its comment lines and indentation (:func:`trim`; line breaks stay, so automatic
semicolon insertion reads it exactly as written): the banner, its stylesheet and one language's configuration
stay within :data:`BUDGET` bytes gzip-compressed (docs/languages.md).

The banner's pages link them as ``consent.js?v=<version>`` / ``consent.css?v=<version>``; a request naming
the current version may be cached for a year (``immutable``), since a new release changes the version and so
the URL. Without it (a storefront's one-tag embed) browsers keep them a day and revalidate by ``ETag``."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

TYPES = {"consent.js": "text/javascript; charset=utf-8", "consent.css": "text/css; charset=utf-8"}
#: Cache lifetime of a versioned URL (a year: the URL changes with the content).
VERSIONED_MAX_AGE = 365 * 86400
#: Cache lifetime of an unversioned URL (the one-tag embed on a storefront).
PLAIN_MAX_AGE = 86400
#: Most bytes a first visit downloads for the banner, gzip-compressed: script + stylesheet + one language.
BUDGET = 8192


@dataclass(frozen=True)
class Asset:
    """One file with its gzip form and their validators."""

    content_type: str
    body: bytes
    gzipped: bytes
    etag: str


@cache
def asset(name: str) -> Asset:
    """The packaged file ``name`` (one of :data:`TYPES`); :class:`KeyError` for any other name."""
    body = resources.files("shopprivacy.consent.static").joinpath(name).read_bytes()
    if name.endswith(".js"):
        body = trim(body.decode("utf-8")).encode("utf-8")
    return Asset(TYPES[name], body, gzip.compress(body, 9, mtime=0),
                 '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


def trim(script: str) -> str:
    """``script`` without its leading ``/* ... */`` block, lines holding only a ``//`` comment, indentation and
    blank lines. Nothing inside a line changes, so strings and regular expressions are untouched."""
    if script.startswith("/*"):
        script = script[script.index("*/") + 2:]
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


@cache
def version() -> str:
    """The version of the banner's files together: it changes whenever either file does."""
    digest = hashlib.sha256()
    for name in sorted(TYPES):
        digest.update(asset(name).body)
    return digest.hexdigest()[:12]
