"""The visitor's consent as the server sees it, from the signed cookie and the ``Sec-GPC`` header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GPC_DENIES = frozenset({"marketing", "sale_of_data"})


@dataclass(frozen=True)
class ConsentState:
    """``allows(category)`` gates server-side work. ``decided`` is False until a valid choice for the current
    policy exists (then nothing optional is allowed). With GPC, marketing and sale of data are denied unless
    the visitor switched them on explicitly after the signal."""

    decided: bool
    granted: frozenset[str] = frozenset()
    consent_id: str | None = None
    gpc: bool = False
    gpc_override: bool = False

    def allows(self, category: str) -> bool:
        if category == "necessary":
            return True
        if not self.decided or category not in self.granted:
            return False
        return not (self.gpc and not self.gpc_override and category in GPC_DENIES)

    @property
    def effective(self) -> frozenset[str]:
        return frozenset(c for c in self.granted if self.allows(c))


NO_CONSENT = ConsentState(decided=False)


def cookie_in_header(header: str, name: str) -> str | Literal[False] | None:
    """The value of cookie ``name`` in a raw ``Cookie`` header, without parsing the other cookies: ``None`` when
    absent, ``False`` when the header holds a quoted value (then parse it fully instead)."""
    if name not in header:
        return None
    if '"' in header:
        return False
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None
