"""Deprecated: the ciphertext format moved to :mod:`shopprivacy.fields.ciphertext` (``shopprivacy.tokens`` is
the unrelated signed-link module)."""

import warnings

from .ciphertext import MAX_TOKEN_CHARS as MAX_TOKEN_CHARS
from .ciphertext import NONCE_BYTES as NONCE_BYTES
from .ciphertext import PREFIXES as PREFIXES
from .ciphertext import TAG_BYTES as TAG_BYTES
from .ciphertext import VERSION as VERSION
from .ciphertext import Parsed as Parsed
from .ciphertext import aad as aad
from .ciphertext import assemble as assemble
from .ciphertext import b64 as b64
from .ciphertext import check_binding as check_binding
from .ciphertext import decode_value as decode_value
from .ciphertext import encode_value as encode_value
from .ciphertext import is_token as is_token
from .ciphertext import parse as parse
from .ciphertext import unb64 as unb64

warnings.warn("shopprivacy.fields.token moved to shopprivacy.fields.ciphertext; import from there",
              DeprecationWarning, stacklevel=2)

__all__ = ["MAX_TOKEN_CHARS", "NONCE_BYTES", "PREFIXES", "TAG_BYTES", "VERSION", "Parsed", "aad", "assemble", "b64",
           "check_binding", "decode_value", "encode_value", "is_token", "parse", "unb64"]
