"""The on-disk ciphertext format of encrypted fields (version 1); its strings are called tokens.

``spf1.<key id>.<payload>`` — value encrypted under the keyring key ``<key id>`` ("fields" subkey);
``spf1s.<handle>.<payload>`` — value encrypted under the data key of one subject (crypto-shreddable).

``<payload>`` is unpadded standard base64 of ``nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)``.
The associated data binds the header, the context (``table.column``) and the row id, so a token copied to
another column or row fails to decrypt. The plaintext starts with a type byte: ``s`` UTF-8 text, ``b``
bytes, ``j`` compact JSON. Changing any of this means a new version prefix; version 1 stays readable.
"""

from __future__ import annotations

import binascii
import json
import re
import sys
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import BadToken, InvalidInput

VERSION = "spf1"
PREFIXES = (VERSION + ".", VERSION + "s.")
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER_ID = re.compile(r"^[a-z0-9]{1,24}$")
MAX_TOKEN_CHARS = 1_000_000


@dataclass(frozen=True)
class Parsed:
    kind: Literal["key", "subject"]
    ref: str  # key id or subject key handle
    header: str  # "spf1.<kid>" or "spf1s.<handle>"
    nonce: bytes
    sealed: bytes  # ciphertext || tag


def is_token(value: object) -> bool:
    """True when ``value`` looks like a field token (used to skip already-encrypted values)."""
    return isinstance(value, str) and value.startswith(PREFIXES) and value.count(".") == 2


def parse(token: object) -> Parsed:
    """Split a token; anything malformed raises :class:`BadToken` (never another exception)."""
    if not isinstance(token, str):
        raise BadToken("an encrypted field token must be text")
    if len(token) > MAX_TOKEN_CHARS:
        raise BadToken("the encrypted field token is too long")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] not in (VERSION, VERSION + "s"):
        raise BadToken("not an encrypted field token of a known version")
    if not _HEADER_ID.match(parts[1]):
        raise BadToken("the encrypted field token names a malformed key")
    try:
        raw = unb64(parts[2])
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadToken("the encrypted field token is not valid base64") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES + 1:
        raise BadToken("the encrypted field token is truncated")
    kind: Literal["key", "subject"] = "subject" if parts[0].endswith("s") else "key"
    return Parsed(kind, parts[1], f"{parts[0]}.{parts[1]}", raw[:NONCE_BYTES], raw[NONCE_BYTES:])


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_STRICT = sys.version_info >= (3, 11)


def b64(data: bytes) -> str:
    """Unpadded standard base64 (binascii: several times faster than the ``base64`` module)."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`; raises ``ValueError`` on anything outside the base64 alphabet."""
    raw = text.encode("ascii") + b"=" * (-len(text) % 4)
    if _STRICT:
        return binascii.a2b_base64(raw, strict_mode=True)  # type: ignore[call-arg,unused-ignore]
    if raw.rstrip(b"=").translate(None, _B64_ALPHABET):
        raise ValueError("not base64")
    return binascii.a2b_base64(raw)


def assemble(header: str, nonce: bytes, sealed: bytes) -> str:
    return f"{header}.{b64(nonce + sealed)}"


def aad(header: str, context: str, row: str) -> bytes:
    return f"{header}\x00{context}\x00{row}".encode()


def check_binding(context: str, row: object) -> str:
    """Validate the binding; returns the row id as text."""
    if type(context) is str and type(row) is int and 0 < len(context) <= 200 and "\x00" not in context:
        return str(row)  # the common case, checked cheaply
    if not isinstance(context, str) or not context or "\x00" in context or len(context) > 200:
        raise InvalidInput("context must be 'table.column' text of at most 200 characters")
    if isinstance(row, bool) or not isinstance(row, (str, int)):
        raise InvalidInput("row must be the row id as text or integer")
    text = str(row)
    if "\x00" in text or len(text) > 200:
        raise InvalidInput("row id must be at most 200 characters without NUL")
    return text


def encode_value(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            return b"s" + value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("cannot encrypt text with unpaired surrogates") from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"b" + bytes(value)
    try:
        return b"j" + json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        raise InvalidInput(f"cannot encrypt a value of type {type(value).__name__}: "
                           "use text, bytes or JSON-able data") from None


def decode_value(plain: bytes) -> Any:
    kind, body = plain[:1], plain[1:]
    try:
        if kind == b"s":
            return body.decode("utf-8")
        if kind == b"b":
            return body
        if kind == b"j":
            return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        pass
    raise BadToken("the decrypted field has an unknown encoding")
