"""The numbers SMS consent holds: each as a subject pseudonym, a blind index of its E.164 form and the number
encrypted under the subject's own key (``sp_sms_subjects``), with the recipient's time zone when known."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from ..email import records
from ..email.records import Meta
from ..errors import TokenError
from ..keys import Keyring
from . import phones
from .tables import PHONE_CONTEXT, SMS, sms_subjects

if TYPE_CHECKING:
    from ..fields.api import Fields


class PhoneSubjects:
    """Who a number is to the SDK, and forgetting it."""

    def __init__(self, *, keyring: Keyring, fields: Fields, clock: Callable[[], datetime],
                 default_region: str | None) -> None:
        self._keyring = keyring
        self._fields = fields
        self._clock = clock
        self._region = default_region

    def e164(self, phone: str) -> str:
        """``phone`` in E.164 (InvalidPhoneNumber when it is not a valid number)."""
        return phones.to_e164(phone, self._region)

    def subject_of(self, e164: str) -> str:
        """The opaque subject of a number: a keyed pseudonym, stable, never the number."""
        return self._keyring.pseudonym(e164, namespace="phone", length=24)

    def blind_index(self, e164: str) -> str:
        """The blind index suppressions and proof are keyed by (HMAC of the E.164 form, blind-index subkey)."""
        return self._fields.blind_index(e164, kind="phone", bits=128)

    def register(self, conn: Connection, e164: str, *, customer_ref: str | None = None,
                 time_zone: str | None = None) -> tuple[str, str]:
        """Record the number (encrypted under its subject key) in ``conn``; returns (subject, blind index)."""
        subject, bidx = self.subject_of(e164), self.blind_index(e164)
        row = records.subject_row(conn, subject, SMS)
        if row is None or row.address is None:
            # held again after an erasure shredded the former key: a fresh key subject, a new token
            key_subject = subject if row is None else f"{subject}.{secrets.token_hex(6)}"
            token = self._fields.encrypt(e164, context=PHONE_CONTEXT, row=subject, subject=key_subject, conn=conn)
            if row is None:
                records.ensure_subject(conn, subject=subject, bidx=bidx, address_token=token,
                                       customer_ref=customer_ref, now=self._clock(), tables=SMS)
            conn.execute(update(sms_subjects).where(sms_subjects.c.subject == subject)
                         .values(address=token, key_subject=key_subject))
        if customer_ref is not None or time_zone is not None:
            values = {k: v for k, v in (("customer_ref", customer_ref), ("time_zone", time_zone)) if v is not None}
            conn.execute(update(sms_subjects).where(sms_subjects.c.subject == subject).values(**values))
        return subject, bidx

    def phone_of(self, row: Any) -> str | None:
        """The E.164 number of a subject row; None once erased (dropped or shredded)."""
        if row is None or row.address is None:
            return None
        try:
            value = self._fields.decrypt(row.address, context=PHONE_CONTEXT, row=row.subject)
        except TokenError:
            return None
        return value if isinstance(value, str) else None

    def meta(self, *, source: str, ip: str | None = None, user_agent: str | None = None,
             text_version: str | None = None) -> Meta:
        """Proof metadata with IP address and user agent as keyed hashes."""
        ring = self._keyring
        return Meta(source=source[:120], text_version=text_version,
                    ip_hash=ring.keyed_hash(ip, namespace="ip") if ip else None,
                    ua_hash=ring.keyed_hash(user_agent[:500], namespace="user-agent") if user_agent else None)

    def forget(self, conn: Connection, subject: str) -> bool:
        """Erasure: shred the key of the stored number and drop it with the platform id and time zone of
        ``subject``; suppressions and proof (blind index) stay. False when nothing was held."""
        row = records.subject_row(conn, subject, SMS)
        if row is None or row.address is None:
            return False
        self._fields.shred(row.key_subject or subject, conn=conn)
        conn.execute(update(sms_subjects).where(sms_subjects.c.subject == subject)
                     .values(address=None, customer_ref=None, time_zone=None, key_subject=None))
        return True
