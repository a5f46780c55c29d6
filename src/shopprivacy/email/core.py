"""The shared core of ``sp.email``: settings, signers, the identity of an address (subject pseudonym, blind
index, encrypted address), proof metadata, link URLs and the outbox row that mirrors a change."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlalchemy.engine import Connection

from ..errors import NotFoundError
from ..fields.blind_index import normalise
from ..tokens import TokenSigner
from . import records
from .records import Meta
from .settings import EmailSettings, MailingList

if TYPE_CHECKING:
    from ..app import ShopPrivacy

#: Outbox topic of marketing-consent changes mirrored on the platform.
TOPIC = "email.marketing_consent"
#: The list id meaning "every list".
ALL = "*"


class EmailBase:
    """State and helpers every part of :class:`~.service.Email` uses."""

    sp: ShopPrivacy
    settings: EmailSettings
    _unsubscribe: TokenSigner
    _confirm: TokenSigner
    _preferences: TokenSigner

    def mailing_list(self, list_id: str) -> MailingList:
        """The declared list; NotFoundError for an unknown id."""
        try:
            return self.settings.lists[list_id]
        except KeyError:
            raise NotFoundError(f"unknown mailing list {list_id!r}") from None

    def _known_list(self, list_id: str) -> None:
        if list_id != ALL:
            self.mailing_list(list_id)

    def subject_of(self, address: str) -> str:
        """The opaque subject of an address: a keyed pseudonym, stable, never the address."""
        return self.sp.keyring.pseudonym(normalise(address, "email"), namespace="email", length=24)

    def _bidx(self, address: str) -> str:
        return self.sp.fields.blind_index(address, kind="email", bits=128)

    def register(self, conn: Connection, address: str, *, customer_ref: str | None = None) -> tuple[str, str]:
        """Record the address (encrypted under its subject key) in ``conn``; returns (subject, blind index)."""
        subject, bidx = self.subject_of(address), self._bidx(address)
        if records.subject_row(conn, subject) is None:
            token = self.sp.fields.encrypt(normalise(address, "email"), context="sp_email_subjects.address",
                                           row=subject, subject=subject, conn=conn)
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=token,
                                   customer_ref=customer_ref, now=self.sp.clock())
        elif customer_ref is not None:
            records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=None,
                                   customer_ref=customer_ref, now=self.sp.clock())
        return subject, bidx

    def meta(self, *, source: str = "web", ip: str | None = None, user_agent: str | None = None,
             text_version: str | None = None) -> Meta:
        """Proof metadata with IP address and user agent as keyed hashes."""
        ring = self.sp.keyring
        return Meta(source=source, text_version=text_version,
                    ip_hash=ring.keyed_hash(ip, namespace="ip") if ip else None,
                    ua_hash=ring.keyed_hash(user_agent[:500], namespace="user-agent") if user_agent else None)

    def _url(self, path: str, token: str) -> str:
        base = self.sp.settings.public_base_url + self.settings.path_prefix.rstrip("/")
        return f"{base}{path}?{urlencode({'t': token})}"

    def _propagate(self, conn: Connection, subject: str, list_id: str, *, subscribed: bool, level: str,
                   now: datetime) -> None:
        """Queue the change for the platform in ``conn``'s transaction (delivered by ``run-due``).

        Rows of one subject and list share an ordering key (pseudonym and list id only): they reach the
        platform in order, and a newer change supersedes an older one still waiting for a retry."""
        key = f"{TOPIC}:{subject}:{list_id}:{'in' if subscribed else 'out'}:{now.isoformat()}"
        self.sp.outbox.enqueue(conn, TOPIC, {"subject": subject, "list": list_id, "subscribed": subscribed,
                                             "level": level, "at": now.isoformat()}, idempotency_key=key[:200],
                               ordering_key=f"{TOPIC}:{subject}:{list_id}")
