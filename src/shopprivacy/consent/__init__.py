"""Cookie consent: policy, banner assets, signed cookie, proof ledger, GPC and Consent Mode.

Reach it as ``sp.consent``. Names load on first use so settings can import the settings model alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import Choice, Consent
    from .settings import Category, ConsentSettings, CookieDecl
    from .state import ConsentState

_NAMES = {"Consent": "service", "Choice": "service", "ConsentState": "state", "ConsentSettings": "settings",
          "Category": "settings", "CookieDecl": "settings"}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(name)


__all__ = ["Category", "Choice", "Consent", "ConsentSettings", "ConsentState", "CookieDecl"]
