"""Deprecated: the consent endpoints moved to :mod:`shopprivacy.consent.pages`."""

import warnings

from ..consent.pages import ASSETS as ASSETS
from ..consent.pages import ConsentPages as ConsentPages

warnings.warn("shopprivacy.web.consent_pages moved to shopprivacy.consent.pages; import ConsentPages from there",
              DeprecationWarning, stacklevel=2)

__all__ = ["ASSETS", "ConsentPages"]
