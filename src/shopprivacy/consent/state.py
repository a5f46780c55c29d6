"""The visitor's consent as the server sees it, from the signed cookie and the ``Sec-GPC`` header."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

GPC_DENIES = frozenset({"marketing", "sale_of_data"})


@dataclass(frozen=True)
class ConsentState:
    """``allows(category)`` gates server-side work. ``decided`` is False until a valid choice for the current
    policy exists (then nothing optional is allowed). With GPC, marketing and sale of data are denied unless
    the visitor switched them on explicitly after the signal. ``denied``: categories refused whatever the
    cookie says (a signed-in customer's rights request, e.g. an opt-out of sale denies ``sale_of_data``)."""

    decided: bool
    granted: frozenset[str] = frozenset()
    consent_id: str | None = None
    gpc: bool = False
    gpc_override: bool = False
    denied: frozenset[str] = frozenset()

    def allows(self, category: str) -> bool:
        if category == "necessary":
            return True
        if not self.decided or category not in self.granted or category in self.denied:
            return False
        return not (self.gpc and not self.gpc_override and category in GPC_DENIES)

    def denying(self, categories: Iterable[str]) -> ConsentState:
        """This state with ``categories`` refused as well (``necessary`` is never refused)."""
        extra = frozenset(c for c in categories if c != "necessary")
        return self if extra <= self.denied else replace(self, denied=self.denied | extra)

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
