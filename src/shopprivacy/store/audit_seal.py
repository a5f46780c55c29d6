"""The MACs of the audit chain: one per entry, and the seal of the head.

An entry's MAC covers its content and the previous entry's MAC. The head (newest entry, and the base left by
truncation) is *sealed*: an HMAC under the same audit subkey over a body that starts with a format tag, so it
can never equal an entry's MAC. Whoever can write the database but does not hold the keyset can therefore
not point the head at an older entry, nor move the base: they can only replay a head they saw earlier, which
the anchor outside the database (``audit_anchor``) catches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import UnknownKeyError
from ..keys import Keyring

#: The MAC before the first entry, and the base of a log that was never truncated.
GENESIS = "0" * 64
HEAD_FORMAT = "sp-audit-head/1"


def same_mac(expected: str, found: object) -> bool:
    """Constant-time comparison of a computed MAC with a stored one (which may be anything a person wrote)."""
    if not isinstance(found, str):
        return False
    return hmac.compare_digest(expected.encode(), found.encode("utf-8", "replace"))


def at_text(at: datetime) -> str:
    """The canonical text of an entry's time inside its MAC (UTC, microseconds)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditHead:
    """The newest entry of the chain (``last_seq``, ``last_mac``) and the base left by truncation (``base_seq``,
    ``base_mac``: the entry just before the oldest one kept), sealed under ``key_id``."""

    last_seq: int
    last_mac: str
    base_seq: int = 0
    base_mac: str = GENESIS
    key_id: str | None = None
    seal: str | None = None

    @property
    def entries(self) -> int:
        """How many entries the chain holds according to this head."""
        return self.last_seq - self.base_seq

    def same_position(self, other: AuditHead) -> bool:
        """Whether both name the same newest entry and the same base (seals aside)."""
        return (self.last_seq, self.last_mac, self.base_seq, self.base_mac) == (
            other.last_seq, other.last_mac, other.base_seq, other.base_mac)


EMPTY_HEAD = AuditHead(0, GENESIS)


class ChainMacs:
    """Computes entry MACs and head seals with the keyring's ``audit`` subkeys."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def _hmac(self, key_id: str, body: list[Any]) -> str:
        data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        return hmac.new(self.keyring.subkey("audit", key_id), data, hashlib.sha256).hexdigest()

    def entry(self, key_id: str, seq: int, at: datetime, actor: str, action: str, subject: str | None,
              fields: Sequence[str], meta: Mapping[str, Any], prev_mac: str) -> str:
        """The MAC of one entry (raises :class:`UnknownKeyError` for a key id not in the keyset)."""
        return self._hmac(key_id, [seq, at_text(at), actor, action, subject, list(fields), dict(meta), key_id,
                                   prev_mac])

    def _head_seal(self, key_id: str, head: AuditHead) -> str:
        return self._hmac(key_id, [HEAD_FORMAT, head.last_seq, head.last_mac, head.base_seq, head.base_mac,
                                   head.entries])

    def sealed(self, head: AuditHead) -> AuditHead:
        """``head`` sealed with the primary key."""
        kid = self.keyring.primary_id
        return AuditHead(head.last_seq, head.last_mac, head.base_seq, head.base_mac, kid, self._head_seal(kid, head))

    def seal_problem(self, head: AuditHead) -> str | None:
        """``None`` when ``head``'s seal is genuine; else why not: ``no seal``, ``unknown key``, ``wrong seal``."""
        if head.seal is None or head.key_id is None:
            return "no seal"
        try:
            expected = self._head_seal(head.key_id, head)
        except UnknownKeyError:
            return "unknown key"
        return None if same_mac(expected, head.seal) else "wrong seal"
