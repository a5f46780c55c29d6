"""Encrypted customer fields: AEAD bound to its row, blind indexes, key rotation, crypto-shredding.

Reach it as ``sp.fields``. Names are imported on first use, so ``shopprivacy.settings`` can import the
settings model without importing the store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Fields
    from .blind_index import blind_index, normalise
    from .redacted import Redacted
    from .settings import FieldsSettings
    from .token import is_token

_NAMES = {"Fields": "api", "blind_index": "blind_index", "normalise": "blind_index", "Redacted": "redacted",
          "FieldsSettings": "settings", "is_token": "token"}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(name)


__all__ = ["Fields", "FieldsSettings", "Redacted", "blind_index", "is_token", "normalise"]
