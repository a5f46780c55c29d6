"""Cookie consent: policy, banner assets, signed cookie, proof ledger, GPC and Consent Mode.

Reach it as ``sp.consent``; its endpoints are :class:`~shopprivacy.consent.pages.ConsentPages` (``sp.consent_web``).
"""

from .service import Choice as Choice
from .service import Consent as Consent
from .settings import Category as Category
from .settings import ConsentSettings as ConsentSettings
from .settings import CookieDecl as CookieDecl
from .state import ConsentState as ConsentState

__all__ = ["Category", "Choice", "Consent", "ConsentSettings", "ConsentState", "CookieDecl"]
