"""Encrypted customer fields: AEAD bound to its row, blind indexes, key rotation, crypto-shredding.

Reach it as ``sp.fields``. Names are imported on first use, so ``shopprivacy.settings`` can import the
settings model without importing the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .api import Fields
    from .blind_index import blind_index, normalise
    from .redacted import Redacted
    from .settings import FieldsSettings
    from .token import is_token

_NAMES = {"Fields": "api", "blind_index": "blind_index", "normalise": "blind_index", "Redacted": "redacted",
          "FieldsSettings": "settings", "is_token": "token"}


__getattr__ = lazy_exports(__name__, _NAMES)


__all__ = ["Fields", "FieldsSettings", "Redacted", "blind_index", "is_token", "normalise"]
