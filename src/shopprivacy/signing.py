"""itsdangerous signers whose derived keys are computed once per secret, not on every call.

``Signer.derive_key`` runs an HMAC per key on every ``sign``/``unsign`` (and serializers build a new signer per
call). The derived key depends only on the secret, the salt, the derivation and the digest, so it is kept in a
small bounded cache keyed by those (the keyring's secrets are in memory already)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from itsdangerous import Signer, TimestampSigner
from itsdangerous.encoding import want_bytes


@lru_cache(maxsize=256)
def _derived(secret: bytes, salt: bytes, derivation: str, digest: Callable[..., Any]) -> bytes:
    signer = Signer.__new__(Signer)
    signer.secret_keys, signer.salt, signer.key_derivation, signer.digest_method = [secret], salt, derivation, digest
    return Signer.derive_key(signer, secret)


class CachedKeySigner(Signer):
    """A :class:`~itsdangerous.Signer` that derives each key once."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        return _derived(secret, self.salt, self.key_derivation, self.digest_method)


class CachedKeyTimestampSigner(TimestampSigner):
    """A :class:`~itsdangerous.TimestampSigner` that derives each key once."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        return _derived(secret, self.salt, self.key_derivation, self.digest_method)
