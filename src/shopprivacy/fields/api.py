"""``sp.fields``: encrypt, decrypt, blind-index and crypto-shred customer fields."""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from ..errors import BadToken, InvalidInput
from ..keys import Keyring
from . import token as fmt
from .blind_index import Kind, blind_index
from .settings import FieldsSettings
from .subject_keys import SubjectKeys


class Fields:
    """Authenticated encryption of single values, bound to ``context`` (``"table.column"``) and ``row``.

    ``encrypt(value, context=..., row=..., subject=None)`` returns a text token (or ``None`` for ``None``);
    with ``subject`` the value is encrypted under that subject's own data key, which :meth:`shred` destroys.
    """

    def __init__(self, keyring: Keyring, subject_keys: SubjectKeys, settings: FieldsSettings | None = None) -> None:
        self.keyring = keyring
        self.subject_keys = subject_keys
        self.settings = settings or FieldsSettings()
        self._aead: dict[str, AESGCM] = {}
        self._primary_header = f"{fmt.VERSION}.{keyring.primary_id}"

    def _key(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            aead = self._aead[kid] = AESGCM(self.keyring.subkey("fields", kid))
        return aead

    def _open(self, header: str, context: str, row: str | int, payload: str) -> Any:
        """Fast path for keyring tokens whose key is already in use: no full parse."""
        try:
            raw = fmt.unb64(payload)
        except (ValueError, UnicodeEncodeError):
            raise BadToken("the encrypted field token is not valid base64") from None
        if len(raw) < fmt.NONCE_BYTES + fmt.TAG_BYTES + 1:
            raise BadToken("the encrypted field token is truncated")
        aad = fmt.aad(header, context, fmt.check_binding(context, row))
        try:
            plain = self._aead[header[5:]].decrypt(raw[:12], raw[12:], aad)
        except InvalidTag:
            raise BadToken("the encrypted field does not decrypt: tampered, or bound to another column or row"
                           ) from None
        return fmt.decode_value(plain)

    def encrypt(self, value: Any, *, context: str, row: str | int, subject: str | None = None,
                conn: Connection | None = None) -> str | None:
        """A token for ``value`` (text, bytes or JSON-able); ``None`` stays ``None``.

        Pass ``conn`` when encrypting for a subject inside an open transaction of the SDK's store.
        """
        if value is None:
            return None
        row_text = fmt.check_binding(context, row)
        plain = fmt.encode_value(value)
        if subject is None:
            header = self._primary_header
            aead = self._key(self.keyring.primary_id)
        else:
            handle, aead = self.subject_keys.for_encrypt(subject, conn)
            header = f"{fmt.VERSION}s.{handle}"
        nonce = os.urandom(fmt.NONCE_BYTES)
        return fmt.assemble(header, nonce, aead.encrypt(nonce, plain, fmt.aad(header, context, row_text)))

    def decrypt(self, token: str | None, *, context: str, row: str | int, conn: Connection | None = None) -> Any:
        """The value of ``token``; raises BadToken (tampered, truncated, other column or row),
        UnknownKeyError (retired key) or ShreddedError (subject key destroyed). ``None`` stays ``None``."""
        if token is None:
            return None
        if type(token) is str and token.startswith("spf1."):
            header, _, payload = token.rpartition(".")
            if header[5:] in self._aead and header.count(".") == 1:
                return self._open(header, context, row, payload)
        parsed = fmt.parse(token)
        row_text = fmt.check_binding(context, row)
        aead = self._key(parsed.ref) if parsed.kind == "key" else self.subject_keys.for_decrypt(parsed.ref, conn)
        try:
            plain = aead.decrypt(parsed.nonce, parsed.sealed, fmt.aad(parsed.header, context, row_text))
        except InvalidTag:
            raise BadToken("the encrypted field does not decrypt: tampered, or bound to another column or row"
                           ) from None
        return fmt.decode_value(plain)

    def is_current(self, token: str) -> bool:
        """False when the token is under a keyring key that is no longer primary (re-encrypt it)."""
        parsed = fmt.parse(token)
        return parsed.kind == "subject" or parsed.ref == self.keyring.primary_id

    def reencrypt(self, token: str, *, context: str, row: str | int) -> str:
        """The same value under the primary key (subject tokens are kept: their keys are rewrapped)."""
        if self.is_current(token):
            return token
        out = self.encrypt(self.decrypt(token, context=context, row=row), context=context, row=row)
        assert out is not None
        return out

    def blind_index(self, value: str, *, kind: Kind, bits: int | None = None) -> str:
        """Keyed, truncated HMAC of the normalised value for equality lookups (see docs/fields.md)."""
        return blind_index(self.keyring, value, kind=kind, bits=bits or self.settings.blind_index_bits)

    def shred(self, subject: str, *, actor: str = "system") -> bool:
        """Destroy the subject's data key: all its tokens, in backups and exports too, become unreadable."""
        return self.subject_keys.shred(subject, actor=actor)

    def _encrypt_with_nonce(self, value: Any, *, context: str, row: str | int, nonce: bytes) -> str:
        """Deterministic encryption for the format's test vectors only."""
        if len(nonce) != fmt.NONCE_BYTES:
            raise InvalidInput("a nonce is 12 bytes")
        header = f"{fmt.VERSION}.{self.keyring.primary_id}"
        sealed = self._key(self.keyring.primary_id).encrypt(
            nonce, fmt.encode_value(value), fmt.aad(header, context, fmt.check_binding(context, row)))
        return fmt.assemble(header, nonce, sealed)
