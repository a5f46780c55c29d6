"""Signed URL tokens (itsdangerous) for every link the SDK mails: one salt per purpose, the keyring's token
subkeys as the key list (the primary signs, every key verifies), SHA-256 and HMAC key derivation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from .errors import BadToken, ExpiredToken
from .keys import Keyring
from .signing import CachedKeyTimestampSigner

MAX_TOKEN_CHARS = 2048


class TokenSigner:
    """Signs and verifies payloads for one purpose (``salt``), e.g. ``"shopprivacy.unsubscribe"``."""

    def __init__(self, keyring: Keyring, purpose: str) -> None:
        self.purpose = purpose
        self._serializer = URLSafeTimedSerializer(
            keyring.subkeys("tokens"), salt=f"shopprivacy.{purpose}",
            signer=CachedKeyTimestampSigner,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256})

    def sign(self, payload: Mapping[str, Any]) -> str:
        return str(self._serializer.dumps(dict(payload)))

    def verify(self, token: object, *, max_age_seconds: float, expired_ok: bool = False) -> dict[str, Any]:
        """The payload; ExpiredToken when genuine but too old, BadToken for anything else.

        ``expired_ok=True`` returns the payload of a genuine but expired token instead (to offer a fresh
        link): the signature is checked before the age, so the payload is still authentic.
        """
        if expired_ok:
            try:
                return self.verify(token, max_age_seconds=max_age_seconds)
            except ExpiredToken as exc:
                if isinstance(exc.payload, dict):
                    return exc.payload
                raise
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise BadToken(f"the {self.purpose} link is malformed")
        try:
            payload = self._serializer.loads(token, max_age=int(max_age_seconds))
        except SignatureExpired as exc:
            # the signature was checked before the age: the payload is authentic, only too old
            try:
                payload = self._serializer.load_payload(exc.payload) if exc.payload is not None else None
            except BadData:
                payload = None
            raise ExpiredToken(f"the {self.purpose} link has expired",
                               payload=payload if isinstance(payload, dict) else None) from None
        except (BadData, UnicodeError, ValueError, TypeError):
            raise BadToken(f"the {self.purpose} link is not valid (altered, or for another purpose)") from None
        if not isinstance(payload, dict):
            raise BadToken(f"the {self.purpose} link is not valid")
        return payload
