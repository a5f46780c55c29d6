"""Encrypted customer fields: AEAD bound to its row, blind indexes, key rotation, crypto-shredding.

Reach it as ``sp.fields``.
"""

from .access_log import FieldAccess as FieldAccess
from .access_log import Identity as Identity
from .access_policy import AccessPolicy as AccessPolicy
from .access_policy import RoleAccess as RoleAccess
from .api import Fields as Fields
from .blind_index import blind_index as blind_index
from .blind_index import normalise as normalise
from .ciphertext import is_token as is_token
from .reader import FieldReader as FieldReader
from .reader import current_reader as current_reader
from .reader import reading_as as reading_as
from .reader import start_reading as start_reading
from .redacted import Redacted as Redacted
from .settings import FieldsSettings as FieldsSettings

__all__ = ["AccessPolicy", "FieldAccess", "FieldReader", "Fields", "FieldsSettings", "Identity", "Redacted",
           "RoleAccess", "blind_index", "current_reader", "is_token", "normalise", "reading_as", "start_reading"]
