"""Masked forms of personal values for pages and notices: enough for the owner to recognise them
(``j***@e******.com``, ``+*********78``, ``J***``), never the value itself."""

from __future__ import annotations

import dataclasses

_HIDDEN = "***"
#: Top-level domains up to this long are shown as they are (``com``, ``museum``); longer ones are masked.
_TLD_SHOWN = 6


@dataclasses.dataclass(frozen=True)
class MaskedChange:
    """One correction as shown to people: the field name, its current value (masked, when the request knows
    it: the identifier the request was made with), the new value (masked), and whether the new value must be
    confirmed from itself before anything changes (a new e-mail address or phone)."""

    field: str
    old: str | None = dataclasses.field(repr=False)
    new: str = dataclasses.field(repr=False)
    needs_proof: bool = False


def mask(kind: str, value: str) -> str:
    """``value`` masked for ``kind``: ``email`` keeps the first character of the local part and of the domain
    and the top-level domain; ``phone`` keeps the ``+`` and the last two digits; anything else keeps its first
    character. The local part is always shown as three stars, whatever its length; a top-level domain
    longer than six characters is masked too."""
    text = value.strip()
    if not text:
        return _HIDDEN
    if kind == "email" and text.count("@") == 1:
        local, _, domain = text.partition("@")
        name, dot, tld = domain.rpartition(".")
        if not dot:
            name, tld = domain, ""
        shown = f"{local[:1]}{_HIDDEN}@{_stars(name)}"
        return f"{shown}.{tld if len(tld) <= _TLD_SHOWN else _stars(tld)}" if dot else shown
    if kind == "phone" and text.startswith("+") and len(text) > 4:
        return "+" + "*" * (len(text) - 3) + text[-2:]
    return text[:1] + _HIDDEN


def _stars(text: str) -> str:
    """The first character and one star per other character (``example`` -> ``e******``)."""
    return text[:1] + "*" * max(len(text) - 1, 0) if text else _HIDDEN
