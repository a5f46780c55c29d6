"""Encrypted customer fields: AEAD bound to its row, blind indexes, key rotation, crypto-shredding.

Reach it as ``sp.fields``.
"""

from .api import Fields as Fields
from .blind_index import blind_index as blind_index
from .blind_index import normalise as normalise
from .ciphertext import is_token as is_token
from .redacted import Redacted as Redacted
from .settings import FieldsSettings as FieldsSettings

__all__ = ["Fields", "FieldsSettings", "Redacted", "blind_index", "is_token", "normalise"]
