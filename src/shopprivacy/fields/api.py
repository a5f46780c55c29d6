"""``sp.fields``: encrypt, decrypt, blind-index and crypto-shred customer fields."""

from __future__ import annotations

import binascii
import os
import sys
from collections.abc import Callable
from time import monotonic as _monotonic
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from ..errors import BadToken, ConfigurationError, InvalidInput
from ..keys import Keyring
from . import ciphertext as fmt
from .access_log import AccessLog, Identity
from .blind_index import Kind, blind_index
from .reader import FieldReader, start_reading
from .settings import FieldsSettings
from .subject_keys import SubjectKeys

_PAD = ("", "===", "==", "=")  # by len % 4; "===" never decodes, as a length of 1 mod 4 is never base64
_STRICT_B64 = sys.version_info >= (3, 11)
_SUBJECT_HEADER = f"{fmt.VERSION}s."
_SUBJECT_AT = len(_SUBJECT_HEADER)
_MIN_RAW = fmt.NONCE_BYTES + fmt.TAG_BYTES + 1  # nonce, tag and at least the type byte
_DOES_NOT_DECRYPT = "the encrypted field does not decrypt: tampered, or bound to another column or row"


class Fields:
    """Authenticated encryption of single values, bound to ``context`` (``"table.column"``) and ``row``.

    ``encrypt(value, context=..., row=..., subject=None)`` returns a text token (or ``None`` for ``None``);
    with ``subject`` the value is encrypted under that subject's own data key, which :meth:`shred` destroys.
    """

    def __init__(self, keyring: Keyring, subject_keys: SubjectKeys, settings: FieldsSettings | None = None, *,
                 access_log: AccessLog | None = None) -> None:
        self.keyring = keyring
        self.subject_keys = subject_keys
        self.settings = settings or FieldsSettings()
        #: Who read which customer's fields (written by readers; ``of(subject)`` for exports).
        self.access_log = access_log
        self._aead: dict[str, AESGCM] = {}
        self._by_header: dict[str, AESGCM] = {}  # "spf1.<kid>" -> cipher, for the decrypt fast path
        self._primary_header = f"{fmt.VERSION}.{keyring.primary_id}"
        self._primary: AESGCM | None = None  # the keyring is immutable: its primary never changes
        self._contexts: set[str] = set()  # contexts that passed fmt.check_binding (the decrypt fast path)
        self._held = subject_keys.held if subject_keys is not None else {}  # SubjectKeys.cached, without a call

    def _primary_cipher(self) -> AESGCM:
        self._primary = self._key(self.keyring.primary_id)
        return self._primary

    def _key(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            aead = self._aead[kid] = AESGCM(self.keyring.subkey("fields", kid))
            self._by_header[f"{fmt.VERSION}.{kid}"] = aead
        return aead

    def _row_text(self, context: str, row: str | int) -> str:
        """The row id as text, once the binding is checked (a context that passed once passes again)."""
        if type(row) is int and type(context) is str and context in self._contexts:
            return str(row)
        row_text = fmt.check_binding(context, row)
        if len(self._contexts) < 1024:
            self._contexts.add(context)
        return row_text

    def encrypt(self, value: Any, *, context: str, row: str | int, subject: str | None = None,
                conn: Connection | None = None) -> str | None:
        """A token for ``value`` (text, bytes or JSON-able); ``None`` stays ``None``.

        Pass ``conn`` when encrypting for a subject inside an open transaction on the SDK's database — the
        SDK's own, or the shop's when the ``sp_`` tables share its database: a new subject key is then written
        in that transaction (with SQLite, a second connection would wait for the shop's lock and time out).
        """
        if value is None:
            return None
        if type(row) is int and type(context) is str and context in self._contexts:
            row_text = str(row)
        else:
            row_text = self._row_text(context, row)
        # ASCII text cannot fail to encode: the format's type byte and UTF-8, inlined
        plain = b"s" + value.encode() if type(value) is str and value.isascii() else fmt.encode_value(value)
        if subject is None:
            header = self._primary_header
            aead = self._primary or self._primary_cipher()
        else:
            handle, aead = self.subject_keys.for_encrypt(subject, conn)
            header = f"{fmt.VERSION}s.{handle}"
        nonce = os.urandom(fmt.NONCE_BYTES)
        sealed = aead.encrypt(nonce, plain, f"{header}\x00{context}\x00{row_text}".encode())
        return f"{header}.{binascii.b2a_base64(nonce + sealed, newline=False).rstrip(b'=').decode()}"

    def decrypt(self, token: str | None, *, context: str, row: str | int, conn: Connection | None = None) -> Any:
        """The value of ``token``; raises BadToken (tampered, truncated, other column or row),
        UnknownKeyError (retired key) or ShreddedError (subject key destroyed). ``None`` stays ``None``."""
        if type(token) is not str:
            return None if token is None else self._decrypt_parsed(token, context, row, conn)
        header, _, payload = token.rpartition(".")
        aead = self._by_header.get(header)
        if aead is None:
            if not header.startswith(_SUBJECT_HEADER):
                return self._decrypt_parsed(token, context, row, conn)
            held = self._held.get(header[_SUBJECT_AT:])  # a subject key this process holds, unexpired
            if held is None or held[0] <= _monotonic():
                return self._decrypt_parsed(token, context, row, conn)
            aead = held[1]
        # a key in use already: the format's steps (see _decrypt_parsed), inlined
        try:
            if _STRICT_B64:
                raw = binascii.a2b_base64(payload + _PAD[len(payload) & 3], strict_mode=True)  # type: ignore[call-arg,unused-ignore]
            else:  # pragma: no cover - Python 3.10
                raw = fmt.unb64(payload)
        except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
            raise BadToken("the encrypted field token is not valid base64") from None
        if len(raw) < _MIN_RAW:
            raise BadToken("the encrypted field token is truncated")
        if type(row) is int and type(context) is str and context in self._contexts:
            row_text = str(row)
        else:
            row_text = self._row_text(context, row)
        try:
            plain = aead.decrypt(raw[:12], raw[12:], f"{header}\x00{context}\x00{row_text}".encode())
        except InvalidTag:
            raise BadToken(_DOES_NOT_DECRYPT) from None
        if plain[0] == 115:  # b"s": text, the common case
            try:
                return plain[1:].decode()
            except UnicodeDecodeError:
                raise BadToken("the decrypted field has an unknown encoding") from None
        return fmt.decode_value(plain)

    def _decrypt_parsed(self, token: object, context: str, row: str | int, conn: Connection | None) -> Any:
        """:meth:`decrypt` by the format's steps: parse, check the binding, find the key, open, decode."""
        parsed = fmt.parse(token)
        row_text = fmt.check_binding(context, row)
        aead = self._key(parsed.ref) if parsed.kind == "key" else self.subject_keys.for_decrypt(parsed.ref, conn)
        try:
            plain = aead.decrypt(parsed.nonce, parsed.sealed, fmt.aad(parsed.header, context, row_text))
        except InvalidTag:
            raise BadToken(_DOES_NOT_DECRYPT) from None
        return fmt.decode_value(plain)

    def reader(self, *, actor: str, purpose: str, role: str | None = None) -> FieldReader:
        """An audited, role-limited decrypter for ``actor`` (e.g. ``"staff:42"``) reading for ``purpose``; see
        docs/fields.md. Use it as a context manager: its reads are written as one audit entry on exit."""
        if self.access_log is None:
            raise ConfigurationError("this Fields has no access log: use sp.fields from ShopPrivacy")
        return FieldReader(self, self.access_log, self.settings.access, Identity(actor, purpose, role))

    def start_reading(self, who: Identity) -> Callable[[], None]:
        """Open a :meth:`reader` for ``who`` and make it the ``current_reader()`` until the returned function is
        called, which writes its batch: what the Flask and Django integrations do for a staff user's request."""
        return start_reading(self.reader(actor=who.actor, purpose=who.purpose, role=who.role))

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

    def shred(self, subject: str, *, actor: str = "system", conn: Connection | None = None) -> bool:
        """Destroy the subject's data key: all its tokens, in backups and exports too, become unreadable.

        With ``conn``, in that transaction of the SDK's database (it commits or rolls back with the caller's
        work); the key is dropped from this process's cache either way. True if a key was destroyed.
        """
        return self.subject_keys.shred(subject, actor=actor, conn=conn)

    def shred_all(self, *, conn: Connection) -> int:
        """Destroy every subject's data key in ``conn``'s transaction (a shop-wide redaction). Returns count."""
        return self.subject_keys.shred_all(conn)

    def reshred(self, *, pseudonym: str, handle: str, seq: int, conn: Connection) -> bool:
        """Apply journal entry ``seq`` (a shred of key ``handle``, subject pseudonym ``pseudonym``) again in
        ``conn``, after a restored backup brought the key back. Idempotent. True if anything changed."""
        return self.subject_keys.reshred(conn, pseudonym=pseudonym, handle=handle, seq=seq)

    def reshred_all(self, *, conn: Connection) -> int:
        """Apply a journaled shop-wide shred again in ``conn`` (not journaled again). Returns count."""
        return self.subject_keys.shred_all(conn, journaled=False)

    def _encrypt_with_nonce(self, value: Any, *, context: str, row: str | int, nonce: bytes) -> str:
        """Deterministic encryption for the format's test vectors only."""
        if len(nonce) != fmt.NONCE_BYTES:
            raise InvalidInput("a nonce is 12 bytes")
        header = f"{fmt.VERSION}.{self.keyring.primary_id}"
        sealed = self._key(self.keyring.primary_id).encrypt(
            nonce, fmt.encode_value(value), fmt.aad(header, context, fmt.check_binding(context, row)))
        return fmt.assemble(header, nonce, sealed)
