"""The facade: one object per shop, capabilities as attributes, each built on first use."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, DidNotEnable, ShopPrivacyError
from .keys import Keyring
from .platforms import PlatformAdapter, WebhookReceiver, load_adapter
from .settings import Settings
from .store import (
    AnchorFile,
    AuditLog,
    DeliveryReport,
    ErasureJournal,
    Inbox,
    Jobs,
    Outbox,
    Store,
    SubjectRestrictions,
    make_engine,
    utcnow,
)
from .web.routes import Route

if TYPE_CHECKING:
    from .breaches import Breaches
    from .consent.pages import ConsentPages
    from .consent.service import Consent
    from .declaration import Declarations
    from .declaration.model import Sunset
    from .declaration.processors import Processors
    from .email.pages import EmailPages
    from .email.service import Email
    from .fields import Fields
    from .renewals import Renewals
    from .retention import Retention
    from .rights import Rights
    from .rights.pages import RightsPages
    from .sms.pages import SmsPages
    from .sms.service import Sms

log = logging.getLogger("shopprivacy")


@dataclass
class RunDueReport:
    """What one ``run-due`` pass did: outbox deliveries and counts per capability task; ``audit_anchor_error``
    says why the audit head could not be anchored (``None``: anchored, unchanged, or no anchor configured)."""

    outbox: DeliveryReport
    tasks: dict[str, Mapping[str, int]] = field(default_factory=dict)
    dead_letters: int = 0
    audit_anchor_error: str | None = None


class ShopPrivacy:
    """Entry point of the SDK. Build one per process (or per shop) and share it; it holds no global state.

    ``ShopPrivacy(Settings(...))`` or ``ShopPrivacy.from_env()``. ``keyring``, ``store``, ``adapter`` and
    ``clock`` may be passed in for tests and embedding.
    """

    def __init__(self, settings: Settings, *, keyring: Keyring | None = None, store: Store | None = None,
                 adapter: PlatformAdapter | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        if keyring is not None:
            self.__dict__["keyring"] = keyring
        if store is not None:
            self.__dict__["store"] = store
        if adapter is not None:
            self.__dict__["adapter"] = adapter

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ShopPrivacy:
        """Settings from ``SHOPPRIVACY_*`` variables; the keyset is loaded and checked at once."""
        sp = cls(Settings.from_env(environ, **overrides))
        sp.keyring  # noqa: B018 - fail at start on a missing or weak keyset
        return sp

    def __repr__(self) -> str:
        return f"ShopPrivacy(platform={self.settings.platform!r})"

    @cached_property
    def keyring(self) -> Keyring:
        """Per-purpose subkeys of the configured keyset."""
        return self.settings.load_keyring()

    @cached_property
    def store(self) -> Store:
        """The SDK's database (not checked here; see :meth:`check` and ``shopprivacy doctor``)."""
        return Store.from_url(self.settings.database_url)

    @cached_property
    def audit(self) -> AuditLog:
        """The HMAC-chained audit log, anchored to ``Settings.audit.anchor_path`` when set."""
        path = self.settings.audit.anchor_path
        return AuditLog(self.store, self.keyring, clock=self.clock, anchor_file=AnchorFile(path) if path else None)

    @cached_property
    def outbox(self) -> Outbox:
        """Durable queue of platform side effects."""
        return Outbox(self.store, self.settings.outbox, clock=self.clock)

    @cached_property
    def inbox(self) -> Inbox:
        """Deduplication of incoming webhook deliveries."""
        return Inbox(self.store, clock=self.clock)

    @cached_property
    def jobs(self) -> Jobs:
        """Checkpoints and leases of long jobs."""
        return Jobs(self.store, clock=self.clock)

    @cached_property
    def erasure_journal(self) -> ErasureJournal | None:
        """The erasure journal, in a database of its own (``Settings.erasure_journal``); None when there is none
        (PostgreSQL without ``SHOPPRIVACY_ERASURE_JOURNAL__URL``)."""
        s = self.settings
        url = s.erasure_journal.resolve(s.database_url)
        if url is None:
            return None
        if url == s.database_url:
            raise ConfigurationError("SHOPPRIVACY_ERASURE_JOURNAL__URL names the SDK's own database, which a restore "
                                     "rolls back with it: give the journal a database of its own",
                                     setting="SHOPPRIVACY_ERASURE_JOURNAL__URL")
        return ErasureJournal(Store(make_engine(url, setting="SHOPPRIVACY_ERASURE_JOURNAL__URL")),
                              keep_days=s.erasure_journal.keep_days, clock=self.clock)

    @cached_property
    def restrictions(self) -> SubjectRestrictions:
        """Who restricted processing, objected to marketing and profiling, or opted out of sale/sharing
        (written by ``sp.rights``; ``blocks(identity, purpose)`` / ``check(...)`` before such work)."""
        kinds = {"email": "email", "phone": "phone", "customer_id": "text"}
        return SubjectRestrictions(self.store, lambda kind, value: self.fields.blind_index(
            value, kind=kinds[kind]))  # type: ignore[arg-type]

    @cached_property
    def adapter(self) -> PlatformAdapter:
        """The platform adapter named by ``Settings.platform``."""
        adapter: PlatformAdapter = load_adapter(self.settings.platform, self.settings)
        return adapter

    @property
    def uses_platform(self) -> bool:
        """Whether a platform adapter is in use: one is named (not the default ``local``), passed in, or the local
        reference shop has a database of its own. Without one, nothing loads an adapter on its own."""
        return (self.settings.platform != "local" or "adapter" in self.__dict__
                or "database_url" in self.settings.platform_options)

    @cached_property
    def adapter_routes(self) -> list[Route]:
        """The adapter's webhook endpoints; building them registers its outbox handlers (once)."""
        adapter = self.adapter
        return list(adapter.attach(self)) if isinstance(adapter, WebhookReceiver) else []

    @cached_property
    def fields(self) -> Fields:
        """Encrypted customer fields: ``encrypt``, ``decrypt``, ``blind_index``, ``shred``."""
        from .fields.access_log import AccessLog
        from .fields.api import Fields
        from .fields.subject_keys import SubjectKeys

        subject_keys = SubjectKeys(self.store, self.keyring, self.audit, clock=self.clock,
                                   cache_seconds=self.settings.fields.subject_key_cache_seconds,
                                   journal=self.erasure_journal)
        access_log = AccessLog(self.store, self.audit, key_subject=subject_keys.key_subject, clock=self.clock)
        return Fields(self.keyring, subject_keys, self.settings.fields, access_log=access_log)

    @cached_property
    def consent(self) -> Consent:
        """Cookie consent: banner tags, server-side state with GPC, proof of every choice."""
        from .consent.service import Consent

        settings = self.settings.consent
        if self.declaration.current is not None:
            from .declaration.derive import consent_settings

            settings = consent_settings(settings, self.declaration.current)
        return Consent(settings, store=self.store, audit=self.audit, keyring=self.keyring,
                       public_base_url=self.settings.public_base_url, default_locale=self.settings.default_locale,
                       clock=self.clock, restrictions=lambda: self.restrictions)

    @cached_property
    def consent_web(self) -> ConsentPages:
        """Consent endpoint, banner assets and ``/.well-known/gpc.json``."""
        from .consent.pages import ConsentPages

        return ConsentPages(self.consent)

    @cached_property
    def email(self) -> Email:
        """E-mail consent: unsubscribe links and headers, suppression, double opt-in, preferences, proof."""
        from .email.service import Email

        return Email(self.settings.email, store=self.store, audit=self.audit, keyring=self.keyring,
                     fields=self.fields, outbox=self.outbox, clock=self.clock,
                     public_base_url=self.settings.public_base_url, adapter=lambda: self.adapter,
                     jobs=lambda: self.jobs, restrictions=lambda: self.restrictions)

    @cached_property
    def email_web(self) -> EmailPages:
        """Web pages of e-mail consent (unsubscribe, opt-in confirmation, preference centre)."""
        from .email.pages import EmailPages

        return EmailPages(self.email, default_locale=self.settings.default_locale)

    @cached_property
    def renewals(self) -> Renewals:
        """Purpose-bound subscription renewals (view, guard, runner)."""
        from .renewals import Renewals

        return Renewals(store=self.store, audit=self.audit, keyring=self.keyring, retention=self.retention,
                        adapter=lambda: self.adapter, clock=self.clock, restrictions=lambda: self.restrictions)

    @cached_property
    def retention(self) -> Retention:
        """Retention rules: plan and sweep."""
        from .retention import Retention

        return Retention(self.settings.retention, store=self.store, audit=self.audit, jobs=self.jobs,
                         adapter=lambda: self.adapter, fields=lambda: self.fields, clock=self.clock,
                         restrictions=lambda: self.restrictions)

    @cached_property
    def declaration(self) -> Declarations:
        """The shop's data declaration: privacy notice, record of processing, cookie table, drift checks."""
        from .declaration import Declarations
        from .declaration.changes import ChangeNotices

        prefix = self.settings.public_base_url + self.settings.rights.path_prefix.rstrip("/")
        changes = ChangeNotices(store=self.store, audit=self.audit, outbox=self.outbox,
                                subjects=lambda: self.email.subjects, clock=self.clock, notice_url=prefix + "/notice",
                                default_locale=self.settings.default_locale)
        from .declaration.sunset import Sunsetting

        def sunset(rule: Callable[[], Sunset | None]) -> Sunsetting:
            return Sunsetting(rule, store=self.store, audit=self.audit, email=lambda: self.email,
                              fields=lambda: self.fields, clock=self.clock)

        return Declarations(self.settings.declaration, store=self.store, keyring=self.keyring, clock=self.clock,
                            rules=lambda: self.retention.rules, portal_url=prefix + "/rights", changes=changes,
                            sunset=sunset)

    @cached_property
    def processors(self) -> Processors:
        """May a person's data go to a declared recipient for a purpose (``may_share``); record it."""
        from .declaration.processors import Processors

        return Processors(self.declaration.require, store=self.store, keyring=self.keyring,
                          restrictions=lambda: self.restrictions, email=lambda: self.email, clock=self.clock)

    @cached_property
    def rights(self) -> Rights:
        """Rights requests: open, verify, process (export, erase, rectify), deadlines, receipts."""
        from .rights import Rights

        rights = Rights(store=self.store, audit=self.audit, keyring=self.keyring, outbox=self.outbox, jobs=self.jobs,
                        settings=self.settings.rights, clock=self.clock, fields=self.fields, email=self.email,
                        consent=self.consent, adapter=lambda: self.adapter if self.uses_platform else None,
                        public_base_url=self.settings.public_base_url, restrictions=self.restrictions,
                        default_locale=self.settings.default_locale, journal=self.erasure_journal)
        if self.declaration.current is not None:  # age confirmations are exported and erased with the customer
            from .declaration.age import AgeSource
            from .declaration.processors import RecipientsSource

            rights.register_source(AgeSource(self.declaration.age_gate))
            rights.register_source(RecipientsSource(self.processors))
        return rights

    @cached_property
    def breaches(self) -> Breaches:
        """The breach register: incidents with the 72-hour clock, affected subjects, notices, authority report."""
        from .breaches import Breaches

        return Breaches(store=self.store, audit=self.audit, keyring=self.keyring, fields=self.fields,
                        outbox=self.outbox, subjects=self.email.subjects, sources=lambda: self.rights.sources(),
                        clock=self.clock, default_locale=self.settings.default_locale)

    @cached_property
    def sms(self) -> Sms:
        """SMS marketing consent: E.164 numbers, opt-in with proof, keyword opt-out, quiet hours, send guard.
        Needs the ``sms`` extra (``phonenumbers``)."""
        try:
            from .sms.service import Sms
        except ImportError as exc:  # phonenumbers missing
            raise DidNotEnable(f"sp.sms needs phonenumbers: pip install 'shopprivacy[sms]' ({exc})") from None
        return Sms(self.settings.sms, store=self.store, audit=self.audit, keyring=self.keyring, fields=self.fields,
                   clock=self.clock, outbox=self.outbox,
                   adapter=lambda: self.adapter if self.uses_platform else None,
                   restrictions=lambda: self.restrictions)

    @cached_property
    def sms_web(self) -> SmsPages:
        """The inbound-SMS webhook (Twilio keywords: STOP, START, HELP)."""
        from .sms.pages import SmsPages

        return SmsPages(self.sms, public_base_url=self.settings.public_base_url,
                        default_locale=self.settings.default_locale)

    @property
    def uses_sms(self) -> bool:
        """Whether SMS consent is in use: a Twilio auth token is configured or ``sp.sms`` was built."""
        return self.settings.sms.twilio_auth_token is not None or "sms" in self.__dict__

    @cached_property
    def rights_web(self) -> RightsPages:
        """The privacy portal: request an export or erasure, correct data, verify, download."""
        from .rights.pages import RightsPages

        return RightsPages(self.rights, self.consent, public_base_url=self.settings.public_base_url,
                           default_locale=self.settings.default_locale)

    def pseudonym(self, value: str, *, namespace: str = "subject") -> str:
        """A stable keyed pseudonym for logs and audit subjects."""
        return self.keyring.pseudonym(value, namespace=namespace)

    def check(self) -> None:
        """Raise unless keys load, the database is reachable and its schema is current."""
        self.keyring  # noqa: B018
        self.store.check()

    def run_due(self, *, limit: int | None = None) -> RunDueReport:
        """Do everything that is due: capability tasks (expiry, reminders, retention), then the outbox; then
        anchor the audit head (when ``Settings.audit.anchor_path`` is set)."""
        now = self.clock()
        # Capabilities with periodic work; building each registers its outbox handlers before delivery.
        tasks: dict[str, Mapping[str, int]] = {
            "email": self.email.run_due(now),
            "retention": self.retention.run_due(now),
            "rights": self.rights.run_due(now),
            "breaches": self.breaches.run_due(now),
        }
        tasks["declaration"] = self.declaration.run_due(now)  # also registers the change-notice handler
        if self.erasure_journal is not None:
            tasks["erasure_journal"] = {"purged": self.erasure_journal.purge(now)}
        if self.uses_platform and not self.uses_sms:  # SMS consent another process queued for the platform
            with contextlib.suppress(DidNotEnable):
                self.sms  # noqa: B018 - registers the SMS outbox handler
        if self.uses_sms:
            tasks["sms"] = self.sms.run_due(now)
        if self.uses_platform:
            self.adapter_routes  # noqa: B018 - registers the adapter's outbox handlers before delivery
        delivered = self.outbox.deliver_due(limit=limit)
        report = RunDueReport(outbox=delivered, tasks=tasks, dead_letters=self.outbox.counts().get("dead", 0))
        try:
            self.audit.anchor()
        except ShopPrivacyError as exc:  # the work above is committed; report, and let verify say more
            log.error("audit anchor not written: %s", exc)
            report.audit_anchor_error = str(exc)
        return report

    def web_routes(self) -> list[Route]:
        """Every endpoint of every capability, for the Flask and Django integrations to mount. Each handler
        sees the client's address behind trusted proxies and answers 503 while the database is unavailable
        (:mod:`shopprivacy.web.serving`)."""
        from .declaration.pages import DeclarationPages
        from .web.serving import Serving

        routes: list[Route] = [*self.email_web.web_routes(), *self.consent_web.web_routes(),
                               *self.rights_web.web_routes(),
                               *DeclarationPages(self.declaration, self.settings.default_locale).web_routes()]
        if self.uses_sms:
            routes.extend(self.sms_web.web_routes())
        if self.uses_platform:
            routes.extend(self.adapter_routes)
        serving = Serving(self.settings.web, self.settings.default_locale)
        return [serving.route(r) for r in routes]

    def close(self) -> None:
        """Release database connections and the adapter's sessions."""
        if "adapter" in self.__dict__:
            self.adapter.close()
        if "store" in self.__dict__:
            self.store.dispose()
        journal = self.__dict__.get("erasure_journal")
        if journal is not None:
            journal.store.dispose()
