"""Wording shared by every configuration message: "did you mean" suggestions and pydantic errors in plain words.

A configuration problem is reported as one line per problem — what is wrong and the fix — never with
pydantic's own prefixes (``Value error, ...``) or a setting's value (options hold access tokens).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: pydantic's prefixes of a validator's own message, dropped from every message shown to a user.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (difflib, case-insensitive), or ``None`` when none is close."""
    options = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return options[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``word``, else ``""``."""
    found = closest(word, choices)
    return f"; did you mean {found!r}?" if found else ""


def plain(message: str) -> str:
    """A pydantic error message without its ``Value error, `` prefix."""
    for prefix in _PYDANTIC_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def printable(name: str, limit: int = 60) -> str:
    """A user-given name as it may appear in a one-line message: itself when plain, else quoted with its control
    characters escaped (a line break in a misspelt key must not start a second message line), cut to ``limit``."""
    if name.isprintable() and not any(c.isspace() for c in name) and len(name) <= limit:
        return name
    return repr(name[:limit])
