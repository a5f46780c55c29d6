"""Blind indexes: keyed, truncated HMAC-SHA256 of a normalised value, for equality lookups on encrypted
columns (``WHERE email_bidx = :bidx``) and for suppression lists that must not keep the address.

What it leaks: equal values give equal indexes, so whoever reads the column sees which rows share a value
and how often. Truncation to fewer bits adds deliberate collisions (false positives to filter after
decryption) that blur that frequency signal; see docs/fields.md for choosing the length.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from typing import Literal

from ..errors import InvalidInput
from ..keys import Keyring

Kind = Literal["email", "phone", "text"]
_NON_DIGITS = re.compile(r"\D+")


def normalise(value: str, kind: Kind) -> str:
    """The canonical form indexed for ``kind``: e-mail trimmed and casefolded; phone as ``+`` and digits
    (``00`` prefix read as ``+``); text NFKC-normalised and trimmed."""
    if not isinstance(value, str):
        raise InvalidInput("a blind index is computed over text")
    if kind == "email":
        out = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip().casefold()
        if out.count("@") != 1 or out.startswith("@") or out.endswith("@"):
            raise InvalidInput("not an e-mail address")
        return out
    if kind == "phone":
        text = value.strip()
        digits = _NON_DIGITS.sub("", text)
        if text.startswith("00"):
            digits = digits[2:]
        elif not text.startswith("+"):
            raise InvalidInput("a phone number needs its country code (+CC...)")
        if not 6 <= len(digits) <= 15:
            raise InvalidInput("a phone number has 6 to 15 digits with its country code")
        return "+" + digits
    if kind == "text":
        return unicodedata.normalize("NFKC", value).strip()
    raise InvalidInput(f"unknown blind index kind {kind!r}")


def blind_index(keyring: Keyring, value: str, *, kind: Kind, bits: int = 128, key_id: str | None = None) -> str:
    """Hex of the first ``bits`` bits of HMAC-SHA256(blind-index subkey, kind || normalised value).

    The blind-index subkey of the *oldest* key is used unless ``key_id`` is given, so indexes stay stable
    when the primary key rotates.
    """
    if bits % 8 or not 16 <= bits <= 256:
        raise InvalidInput("blind index bits must be a multiple of 8 between 16 and 256")
    kid = keyring.ids[0] if key_id is None else key_id
    mac = hmac.digest(keyring.subkey("blind-index", kid), f"{kind}\x00{normalise(value, kind)}".encode(), "sha256")
    return mac[: bits // 8].hex()
