"""Keysets and the keyring: key ids, per-purpose HKDF subkeys, rotation.

A keyset is a JSON document::

    {"version": 1, "primary": "k7q2mx",
     "keys": [{"id": "k7q2mx", "secret": "<base64url, 32+ bytes>", "created": "2026-11-24T18:00:00Z"}]}

Keys are listed oldest to newest. The primary key encrypts and signs; every listed key still decrypts and
verifies, so keys rotate without downtime. Secrets never appear in ``repr`` or error messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KeysetError, UnknownKeyError

#: Purposes a subkey can be derived for. One subkey per purpose keeps a leak or misuse of one contained.
PURPOSES = frozenset(
    {
        "fields",  # AEAD field encryption and wrapping of per-subject data keys
        "blind-index",  # HMAC blind indexes for equality lookups on encrypted fields
        "tokens",  # itsdangerous URL tokens (unsubscribe, opt-in, preference centre, rights links)
        "consent-cookie",  # the signed consent cookie
        "audit",  # HMAC chain of the audit log
        "pseudonym",  # stable pseudonyms for logs and audit subjects
        "hashing",  # keyed hashes of IP addresses and user agents kept as proof
    }
)

MIN_SECRET_BYTES = 32
KEYSET_VERSION = 1
_KEY_ID = re.compile(r"^[a-z0-9]{1,12}$")
_HKDF_SALT = b"shopprivacy-hkdf-v1"


@dataclass(frozen=True)
class Key:
    """One key of a keyset. ``secret`` is never shown by ``repr``."""

    id: str
    secret: bytes = field(repr=False)
    created: str = ""

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.id):
            raise KeysetError(f"key id {self.id!r} must be 1-12 characters of a-z and 0-9")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise KeysetError(
                f"key {self.id!r} is {len(self.secret)} bytes; at least {MIN_SECRET_BYTES} random bytes are required"
            )
        if len(set(self.secret)) < 12:
            raise KeysetError(f"key {self.id!r} is not random enough (too few distinct bytes)")


def _b64decode(text: str, key_id: str) -> bytes:
    try:
        padded = text + "=" * (-len(text) % 4)
        return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeysetError(f"key {key_id!r}: secret is not valid base64url") from exc


def _new_key_id(taken: Iterable[str]) -> str:
    taken = set(taken)
    while True:
        candidate = base64.b32encode(secrets.token_bytes(5)).decode("ascii").lower()[:6]
        candidate = candidate.replace("=", "")
        if candidate not in taken and _KEY_ID.match(candidate):
            return candidate


def _now_text() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Keyset:
    """An ordered set of keys (oldest first) with one primary."""

    keys: tuple[Key, ...]
    primary: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeysetError("the keyset holds no keys")
        ids = [k.id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise KeysetError("the keyset lists a key id twice")
        if self.primary not in ids:
            raise KeysetError(f"the primary key id {self.primary!r} is not in the keyset")

    @classmethod
    def generate(cls) -> Keyset:
        """A new keyset with one random 256-bit primary key."""
        key = Key(id=_new_key_id(()), secret=secrets.token_bytes(32), created=_now_text())
        return cls(keys=(key,), primary=key.id)

    @classmethod
    def from_json(cls, text: str) -> Keyset:
        """Parse a keyset document; raises :class:`KeysetError` naming what is wrong."""
        try:
            doc = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise KeysetError("the keyset is not valid JSON") from exc
        return cls.from_mapping(doc)

    @classmethod
    def from_mapping(cls, doc: Any) -> Keyset:
        if not isinstance(doc, Mapping):
            raise KeysetError("the keyset must be a JSON object")
        if doc.get("version") != KEYSET_VERSION:
            raise KeysetError(f"unsupported keyset version {doc.get('version')!r} (expected {KEYSET_VERSION})")
        raw_keys = doc.get("keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise KeysetError("the keyset needs a non-empty 'keys' list")
        keys = []
        for i, item in enumerate(raw_keys):
            if not isinstance(item, Mapping):
                raise KeysetError(f"keys[{i}] must be an object")
            kid, secret = item.get("id"), item.get("secret")
            if not isinstance(kid, str) or not isinstance(secret, str):
                raise KeysetError(f"keys[{i}] needs string 'id' and 'secret'")
            if not _KEY_ID.match(kid):
                raise KeysetError(f"keys[{i}]: key id must be 1-12 characters of a-z and 0-9")
            created = item.get("created", "")
            keys.append(Key(id=kid, secret=_b64decode(secret, kid), created=str(created)))
        primary = doc.get("primary")
        if not isinstance(primary, str):
            raise KeysetError("the keyset needs a string 'primary' key id")
        return cls(keys=tuple(keys), primary=primary)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyset:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeysetError(f"the keyset file {os.fspath(path)!r} does not exist; create it with "
                              f"`shopprivacy keys generate --out {os.fspath(path)}`") from None
        except OSError as exc:
            raise KeysetError(f"cannot read the keyset file {os.fspath(path)!r}: {exc.strerror}") from exc
        return cls.from_json(text)

    def to_json(self) -> str:
        doc = {
            "version": KEYSET_VERSION,
            "primary": self.primary,
            "keys": [
                {"id": k.id, "secret": base64.urlsafe_b64encode(k.secret).decode("ascii").rstrip("="),
                 "created": k.created}
                for k in self.keys
            ],
        }
        return json.dumps(doc, indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write atomically with mode 0600."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys)

    def rotate(self, *, promote: bool = True) -> Keyset:
        """Add a new random key; make it primary unless ``promote`` is false (staged rollout)."""
        key = Key(id=_new_key_id(self.ids), secret=secrets.token_bytes(32), created=_now_text())
        return replace(self, keys=(*self.keys, key), primary=key.id if promote else self.primary)

    def promote(self, key_id: str) -> Keyset:
        """Make an existing key the primary."""
        if key_id not in self.ids:
            raise UnknownKeyError(key_id)
        return replace(self, primary=key_id)

    def retire(self, key_id: str) -> Keyset:
        """Remove a key. Data still under it can no longer be read: re-encrypt first."""
        if key_id not in self.ids:
            raise UnknownKeyError(key_id)
        if key_id == self.primary:
            raise KeysetError(f"key {key_id!r} is the primary key; rotate before retiring it")
        return replace(self, keys=tuple(k for k in self.keys if k.id != key_id))


class Keyring:
    """Derives and caches per-purpose subkeys from a :class:`Keyset`."""

    def __init__(self, keyset: Keyset) -> None:
        self.keyset = keyset
        self._secrets = {k.id: k.secret for k in keyset.keys}
        self._cache: dict[tuple[str, str], bytes] = {}

    def __repr__(self) -> str:
        return f"Keyring(ids={list(self.keyset.ids)!r}, primary={self.primary_id!r})"

    @property
    def primary_id(self) -> str:
        return self.keyset.primary

    @property
    def ids(self) -> tuple[str, ...]:
        return self.keyset.ids

    def subkey(self, purpose: str, key_id: str | None = None) -> bytes:
        """The 32-byte subkey for ``purpose`` under ``key_id`` (default: the primary key)."""
        kid = self.keyset.primary if key_id is None else key_id
        try:
            return self._cache[(purpose, kid)]
        except KeyError:
            pass
        if purpose not in PURPOSES:
            raise KeysetError(f"unknown key purpose {purpose!r}")
        try:
            master = self._secrets[kid]
        except KeyError:
            raise UnknownKeyError(kid) from None
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_HKDF_SALT,
            info=b"shopprivacy/" + purpose.encode("ascii") + b"/" + kid.encode("ascii"),
        ).derive(master)
        self._cache[(purpose, kid)] = derived
        return derived

    def subkeys(self, purpose: str) -> list[bytes]:
        """Subkeys of every key for ``purpose``, the primary last (itsdangerous signs with the last)."""
        order = [k for k in self.keyset.ids if k != self.keyset.primary] + [self.keyset.primary]
        return [self.subkey(purpose, kid) for kid in order]

    def pseudonym(self, value: str, *, namespace: str = "subject", length: int = 16) -> str:
        """A stable, keyed pseudonym of ``value`` for logs and audit entries (not reversible)."""
        mac = hmac.new(self.subkey("pseudonym"), f"{namespace}\x00{value}".encode(), hashlib.sha256)
        return "p_" + base64.b32encode(mac.digest()).decode("ascii").lower()[:length]

    def keyed_hash(self, value: str, *, namespace: str, key_id: str | None = None) -> str:
        """A keyed hash of ``value`` for proof records (IP address, user agent): ``"<key id>.<hex>"``.

        Pass the key id found in a stored hash to check a value against it after a rotation.
        """
        kid = self.keyset.primary if key_id is None else key_id
        mac = hmac.new(self.subkey("hashing", kid), f"{namespace}\x00{value}".encode(), hashlib.sha256)
        return f"{kid}.{mac.hexdigest()}"
