"""``sp.sms``: SMS marketing consent — numbers in E.164, explicit opt-in with proof (optionally confirmed by a
texted code), opt-out per program or by keyword, suppression by blind index that survives erasure, quiet hours
and the send guard.

:class:`Sms` wires small parts: :class:`~.subjects.PhoneSubjects` (numbers held), :class:`~.consent.SmsConsent`
(states, suppressions, proof), :class:`~.codes.Codes` (texted confirmation codes) and
:class:`~.quiet.SmsGuard` (quiet hours, send guard). Its durable writes are e-mail consent's
(:mod:`shopprivacy.email.records`) on the SMS tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..email.platform import PlatformChanges
from ..email.records import Change, Meta
from ..errors import InvalidInput
from ..keys import Keyring
from .codes import Codes
from .consent import SmsConsent, wording_digest
from .keywords import Keyword, classify
from .message import SmsMessage, SmsSender
from .propagation import TOPIC, SmsPropagation
from .quiet import SmsGuard
from .rights_source import SmsRightsSource
from .settings import ALL, SmsSettings
from .subjects import PhoneSubjects
from .tables import SMS

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..platforms import PlatformAdapter
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.outbox import Outbox
    from ..store.restrictions import SubjectRestrictions


@dataclass(frozen=True)
class KeywordOutcome:
    """What an inbound text did: its keyword (``None``: an ordinary message), whether a state changed, and the
    reply to send back (``None``: none)."""

    keyword: Keyword | None
    changed: bool
    reply: str | None


class Sms:
    """SMS marketing consent for one shop. Numbers are kept only as blind indexes and subject-key tokens."""

    def __init__(self, settings: SmsSettings, *, store: Store, audit: AuditLog, keyring: Keyring, fields: Fields,
                 clock: Callable[[], datetime], outbox: Outbox | None = None,
                 adapter: Callable[[], PlatformAdapter | None] | None = None,
                 restrictions: Callable[[], SubjectRestrictions | None] | None = None) -> None:
        self.settings = settings
        #: The numbers held: E.164, pseudonyms, blind indexes, encrypted numbers, forgetting.
        self.subjects = subjects = PhoneSubjects(keyring=keyring, fields=fields, clock=clock,
                                                 default_region=settings.default_region)
        #: Consent recorded here mirrored on the platform (``outbox`` and ``adapter`` given: the facade's).
        self.propagation = None if outbox is None or adapter is None else SmsPropagation(
            settings, store=store, outbox=outbox, adapter=adapter)
        if outbox is not None and self.propagation is not None:
            outbox.register(TOPIC, self.propagation.deliver)
        self._consent = SmsConsent(settings, store=store, audit=audit, clock=clock, subjects=subjects,
                                   propagation=self.propagation)
        self._codes = Codes(settings, store=store, audit=audit, keyring=keyring, clock=clock, subjects=subjects,
                            consent=self._consent)
        self._guard = SmsGuard(settings, store=store, clock=clock, subjects=subjects, restrictions=restrictions)
        #: Consent changes made on the platform (Shopify's SMS marketing consent), applied by the e-mail rules
        #: (newest platform time wins) on the SMS tables and never mirrored back.
        self.platform = PlatformChanges(settings, store=store, audit=audit, clock=clock, subjects=subjects,
                                        tables=SMS, normalise=subjects.e164, field_name="phone")
        #: The SDK's store (read by :class:`~.rights_source.SmsRightsSource`).
        self.store = store
        self._audit = audit

    def normalise(self, phone: str) -> str:
        """``phone`` in E.164; InvalidPhoneNumber when it is not a valid number."""
        return self.subjects.e164(phone)

    # -- opting in ----------------------------------------------------------------------------------------
    def opt_in(self, phone: str, list_id: str, *, wording: str, source: str, ip: str | None = None,
               user_agent: str | None = None, customer_ref: str | None = None,
               time_zone: str | None = None) -> Change:
        """Record an explicit opt-in with its proof: who (subject pseudonym, hashed IP and UA), when, the digest
        of the ``wording`` shown and the ``source`` (e.g. ``"signup-form"``). Without a texted code it cannot
        lift an earlier opt-out: use :meth:`request_code` for that."""
        e164, meta = self.normalise(phone), self._meta(source, wording, ip, user_agent)
        return self._consent.opt_in(e164, list_id, meta, customer_ref=customer_ref, time_zone=self._zone(time_zone))

    def request_code(self, phone: str, list_id: str, *, wording: str, source: str, ip: str | None = None,
                     user_agent: str | None = None, customer_ref: str | None = None, time_zone: str | None = None,
                     locale: str = "en") -> str:
        """Start an opt-in confirmed by a code texted through the sender; returns the pending id for
        :meth:`confirm_code`. RateLimited past ``resend_limit`` codes per number and window."""
        e164, meta = self.normalise(phone), self._meta(source, wording, ip, user_agent)
        return self._codes.request(e164, list_id, text_version=meta.text_version or "", source=meta.source,
                                   ip_hash=meta.ip_hash, ua_hash=meta.ua_hash, customer_ref=customer_ref,
                                   time_zone=self._zone(time_zone), locale=locale[:20])

    def confirm_code(self, pending_id: str, code: str) -> Change:
        """Confirm an opt-in with its code (BadToken when wrong, RateLimited after ``code_attempts`` wrong ones,
        ExpiredToken when too old). A confirmed opt-in lifts an earlier opt-out of the program."""
        return self._codes.confirm(pending_id, code)

    def set_sender(self, sender: SmsSender | None) -> None:
        """The function that texts :class:`SmsMessage` values (confirmation codes) through the shop's provider."""
        self._codes.set_sender(sender)

    # -- opting out -----------------------------------------------------------------------------------------
    def opt_out(self, phone: str, list_id: str = ALL, *, source: str = "direct") -> Change:
        """Opt a number out of ``list_id`` (``"*"``: every program). Idempotent; durable on return."""
        return self._consent.opt_out(self.normalise(phone), list_id, Meta(source=source[:120]))

    def handle_keyword(self, phone: str, body: str, *, opt_out_type: str | None = None,
                       locale: str = "en") -> KeywordOutcome:
        """Act on an inbound text from ``phone``: STOP and its variants opt out of every program, START and
        UNSTOP lift that, HELP answers. ``opt_out_type`` is Twilio's ``OptOutType`` when present."""
        s = self.settings
        keyword = classify(body, extra_stop=s.extra_stop_keywords, extra_start=s.extra_start_keywords,
                           opt_out_type=opt_out_type)
        if keyword is None:
            return KeywordOutcome(None, False, None)
        if keyword == "help":
            return KeywordOutcome("help", False, s.text("help", locale))
        e164 = self.normalise(phone)
        meta = Meta(source="sms-keyword")
        if keyword == "stop":
            change = self._consent.opt_out(e164, ALL, meta, reason="keyword")
            return KeywordOutcome("stop", change.changed, s.stop_reply)
        change = self._consent.resume(e164, meta)
        return KeywordOutcome("start", change.changed, s.start_reply)

    def suppress(self, phone: str, list_id: str = ALL, *, reason: str = "manual") -> None:
        """Add a number to the suppression list (complaints, a request by another channel, a carrier report)."""
        self._consent.opt_out(self.normalise(phone), list_id, Meta(source="system"), reason=reason)

    # -- reading --------------------------------------------------------------------------------------------
    def is_suppressed(self, phone: str, list_id: str | None = None) -> bool:
        """True when the number must not get marketing on ``list_id``; ``None``: when suppressed from all."""
        return self._consent.is_suppressed(self.normalise(phone), list_id)

    def state(self, phone: str, list_id: str) -> str:
        """``subscribed``, ``unsubscribed`` (suppressed) or ``not_subscribed``."""
        return self._consent.state(self.normalise(phone), list_id)

    def history(self, phone: str) -> list[dict[str, Any]]:
        """The proof kept for the number: opt-ins (wording digest, source, hashed IP and UA), opt-outs."""
        return self._consent.history(self.normalise(phone))

    # -- sending --------------------------------------------------------------------------------------------
    def guard(self, phone: str, list_id: str, *, at: datetime | None = None) -> str:
        """Return the E.164 number to send to, or raise SuppressedRecipient (no opt-in, opted out) or
        QuietHours (with ``until``) in the recipient's quiet hours. Transactional programs pass."""
        e164 = self.normalise(phone)
        self._guard.guard(e164, list_id, at)
        return e164

    def next_send_time(self, phone: str, *, at: datetime | None = None) -> datetime:
        """The first moment from ``at`` (now) outside the recipient's quiet hours."""
        return self._guard.next_send_time(self.normalise(phone), at)

    # -- erasure and periodic work ----------------------------------------------------------------------------
    def erase(self, phone: str, *, actor: str = "system") -> bool:
        """Erase the number: its stored copy is crypto-shredded and dropped; its suppression and proof (blind
        index only) stay, so an erased customer who opted out is never texted again. False when none was held."""
        e164 = self.normalise(phone)
        subject = self.subjects.subject_of(e164)
        with self.store.begin() as conn:
            done = self.subjects.forget(conn, subject)
            if done:
                self._audit.append(conn, actor=actor, action="sms.erased", subject=subject, fields=["phone"])
        return done

    def rights_source(self) -> SmsRightsSource:
        """SMS consent as a source of rights requests: ``sp.rights.register_source(sp.sms.rights_source())``
        exports, carries over on a corrected number, and erases (suppression and proof retained)."""
        return SmsRightsSource(self)

    def run_due(self, now: datetime) -> dict[str, int]:
        """Purge unconfirmed code requests past their expiry and re-send window (their proof stays)."""
        return {"expired_codes": self._codes.purge_expired(now)}

    @staticmethod
    def wording_digest(wording: str) -> str:
        """``sha256:<hex>`` of a consent wording, as stored with each opt-in."""
        return wording_digest(wording)

    def _meta(self, source: str, wording: str, ip: str | None, user_agent: str | None) -> Meta:
        if not isinstance(source, str) or not source.strip() or len(source) > 120:
            raise InvalidInput("source is required (at most 120 characters)")
        return self.subjects.meta(source=source, ip=ip, user_agent=user_agent, text_version=wording_digest(wording))

    @staticmethod
    def _zone(time_zone: str | None) -> str | None:
        if time_zone is None:
            return None
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("unknown time zone (an IANA name such as 'Europe/Paris')") from None
        return time_zone


__all__ = ["ALL", "Change", "KeywordOutcome", "Sms", "SmsMessage", "SmsSender"]
