"""Cookie consent: policy, banner assets, signed cookie, proof ledger, GPC and Consent Mode.

Reach it as ``sp.consent``. Names load on first use so settings can import the settings model alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .service import Choice, Consent
    from .settings import Category, ConsentSettings, CookieDecl
    from .state import ConsentState

_NAMES = {"Consent": "service", "Choice": "service", "ConsentState": "state", "ConsentSettings": "settings",
          "Category": "settings", "CookieDecl": "settings"}


__getattr__ = lazy_exports(__name__, _NAMES)


__all__ = ["Category", "Choice", "Consent", "ConsentSettings", "ConsentState", "CookieDecl"]
