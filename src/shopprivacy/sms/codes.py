"""Opt-in confirmed by a code sent by text: the request (a pending row holding only a keyed hash of the
code), the shop's sender, limited sends per window, limited wrong guesses, expiry, and the confirmation, which
proves possession of the number and so lifts a suppression.

Codes are sent at once through the sender, not through the outbox: the person waits for the code, and one
that arrives after its expiry is useless. When the sender fails the request stays and may be re-sent."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from ..email import records
from ..email.records import Change
from ..errors import BadToken, ConfigurationError, ExpiredToken, InvalidInput, NotFoundError, RateLimited
from ..keys import Keyring
from .consent import SmsConsent
from .message import SmsMessage, SmsSender
from .settings import SmsSettings
from .subjects import PhoneSubjects
from .tables import SMS, sms_pending

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store




class Codes:
    """Confirmation codes of ``sp.sms``."""

    def __init__(self, settings: SmsSettings, *, store: Store, audit: AuditLog, keyring: Keyring,
                 clock: Callable[[], datetime], subjects: PhoneSubjects, consent: SmsConsent) -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._keyring = keyring
        self._clock = clock
        self._subjects = subjects
        self._consent = consent
        self._sender: SmsSender | None = None

    def set_sender(self, sender: SmsSender | None) -> None:
        """The function that sends :class:`SmsMessage` values through the shop's SMS provider."""
        self._sender = sender

    def _hash(self, pending_id: str, code: str, key_id: str | None = None) -> str:
        return self._keyring.keyed_hash(f"{pending_id}:{code}", namespace="sms-code", key_id=key_id)

    def _new_code(self) -> str:
        return "".join(secrets.choice("0123456789") for _ in range(self._settings.code_digits))

    @staticmethod
    def _locked(query: Any, conn: Connection) -> Any:
        return query.with_for_update() if conn.dialect.name == "postgresql" else query

    def request(self, e164: str, list_id: str, *, text_version: str, source: str, ip_hash: str | None,
                ua_hash: str | None, customer_ref: str | None, time_zone: str | None, locale: str) -> str:
        """Store a pending opt-in, text its code, and return the pending id to confirm with."""
        self._settings.program(list_id)
        if self._sender is None:
            raise ConfigurationError("no SMS sender is set (sp.sms.set_sender) to text the confirmation code")
        s, now = self._settings, self._clock()
        code = self._new_code()
        with self._store.begin() as conn:
            subject, bidx = self._subjects.register(conn, e164, customer_ref=customer_ref, time_zone=time_zone)
            self._store.lock(conn, f"shopprivacy:sms:code:{bidx}")
            row = conn.execute(self._locked(select(sms_pending).where(
                sms_pending.c.address_bidx == bidx, sms_pending.c.list_id == list_id,
                sms_pending.c.confirmed_at.is_(None)).order_by(sms_pending.c.requested_at.desc()).limit(1),
                conn)).first()
            expires = now + timedelta(minutes=s.code_max_age_minutes)
            if row is None:
                pending_id = secrets.token_hex(12)
                conn.execute(sms_pending.insert().values(
                    id=pending_id, subject=subject, address_bidx=bidx, list_id=list_id, text_version=text_version,
                    source=source[:120], ip_hash=ip_hash, ua_hash=ua_hash, code_hash=self._hash(pending_id, code),
                    attempts=0, sends=1, window_started_at=now, requested_at=now, expires_at=expires))
            else:
                in_window = row.window_started_at > now - timedelta(hours=s.resend_window_hours)
                if in_window and row.sends >= s.resend_limit:
                    raise RateLimited("too many codes for this number; try again later")
                sends, window = (row.sends + 1, row.window_started_at) if in_window else (1, now)
                pending_id = row.id
                conn.execute(update(sms_pending).where(sms_pending.c.id == row.id).values(
                    code_hash=self._hash(row.id, code), attempts=0, sends=sends, window_started_at=window,
                    expires_at=expires, text_version=text_version, source=source[:120], ip_hash=ip_hash,
                    ua_hash=ua_hash))
            meta = records.Meta(source=source[:120], ip_hash=ip_hash, ua_hash=ua_hash, text_version=text_version)
            records.prove(conn, subject=subject, bidx=bidx, list_id=list_id, action="opt_in_code_sent", meta=meta,
                          now=now, tables=SMS, audit=self._audit)
        self._sender(SmsMessage(kind="code", to=e164, locale=locale,
                                body=s.text("code", locale, code=code)))
        return pending_id

    def confirm(self, pending_id: str, code: str) -> Change:
        """Confirm with the texted code: subscribed (``confirmed_opt_in``), suppression lifted, proof, audit.

        BadToken for a wrong code (each counts against ``code_attempts``), RateLimited once they are used up,
        ExpiredToken past the code's lifetime, NotFoundError for an unknown request."""
        if not isinstance(code, str) or not isinstance(pending_id, str) or len(pending_id) > 32 or len(code) > 20:
            raise InvalidInput("a pending id and a code are required")
        code = code.strip()
        now, wrong = self._clock(), False
        with self._store.begin() as conn:
            row = conn.execute(self._locked(select(sms_pending).where(sms_pending.c.id == pending_id), conn)).first()
            if row is None:
                raise NotFoundError("no opt-in awaits this confirmation; ask for a new code")
            if row.confirmed_at is not None:
                return Change(row.subject, row.list_id, False)
            if row.expires_at <= now or row.code_hash is None:
                raise ExpiredToken("the code has expired; ask for a new one")
            if row.attempts >= self._settings.code_attempts:
                raise RateLimited("too many wrong codes; ask for a new one")
            key_id = row.code_hash.split(".", 1)[0]
            if not hmac.compare_digest(self._hash(row.id, code, key_id).encode(), row.code_hash.encode()):
                conn.execute(update(sms_pending).where(sms_pending.c.id == row.id)
                             .values(attempts=row.attempts + 1))
                wrong = True  # committed before it is reported, so wrong guesses always count
            else:
                conn.execute(update(sms_pending).where(sms_pending.c.id == row.id)
                             .values(confirmed_at=now, code_hash=None))
                meta = records.Meta(source=row.source, ip_hash=row.ip_hash, ua_hash=row.ua_hash,
                                    text_version=row.text_version)
                self._consent.subscribe(conn, subject=row.subject, bidx=row.address_bidx, list_id=row.list_id,
                                        level="confirmed_opt_in", meta=meta, lift=True, now=now)
        if wrong:
            raise BadToken("the code is not right")
        return Change(row.subject, row.list_id, True)

    def purge_expired(self, now: datetime) -> int:
        """Delete unconfirmed requests past their expiry and out of the re-send window (their proof stays)."""
        window_start = now - timedelta(hours=self._settings.resend_window_hours)
        with self._store.begin() as conn:
            return int(conn.execute(delete(sms_pending).where(
                sms_pending.c.confirmed_at.is_(None), sms_pending.c.expires_at <= now,
                sms_pending.c.window_started_at <= window_start)).rowcount)
