"""Localisation for server-rendered pages; it lives in :mod:`shopprivacy.i18n` (the core uses it too)."""

from ..i18n import RTL_LANGUAGES as RTL_LANGUAGES
from ..i18n import available_locales as available_locales
from ..i18n import catalog as catalog
from ..i18n import direction as direction
from ..i18n import negotiate as negotiate
from ..i18n import parse_accept_language as parse_accept_language

__all__ = ["RTL_LANGUAGES", "available_locales", "catalog", "direction", "negotiate", "parse_accept_language"]
