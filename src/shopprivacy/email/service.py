"""``sp.email``: unsubscribe links, suppression, double opt-in, preferences, proof, platform propagation.

:class:`Email` wires small parts, each with one job: :class:`~.subjects.Subjects` (addresses held and
forgotten), :class:`~.links.Links` (signed links), :class:`~.suppression.Suppression`,
:class:`~.sending.SendingGuard`, :class:`~.opt_in.OptIn`, :class:`~.preferences.Preferences`,
:class:`~.propagation.Propagation` (platform), :class:`~.platform.PlatformChanges` (changes made on the
platform), :class:`~.importing.ConsentImport` (consent held before the SDK) and :class:`~.mailer.LinkMailer`
(fresh links by mail). What a shop and the other capabilities call is on :class:`Email` itself; what only the
pages, adapters and commands need is on the parts ``subjects``, ``suppression``, ``opt_in``, ``preferences``,
``platform`` and ``importing``."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from ..keys import Keyring
from ..platforms import PlatformAdapter
from .importing import ConsentImport
from .links import Links
from .mailer import LINK_TOPIC, LinkMail, LinkMailer, Sender
from .opt_in import OptIn
from .platform import PlatformChanges, PlatformConsentUpdate
from .preferences import Preferences
from .propagation import TOPIC, Propagation
from .records import Change, Meta
from .sending import SendingGuard
from .settings import ALL, EmailSettings
from .subjects import Subjects
from .suppression import Suppression

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.jobs import Jobs
    from ..store.outbox import Outbox
    from ..store.restrictions import SubjectRestrictions

#: Former flat names of :class:`Email`, now on a part: (part attribute, name there). Deprecated.
_MOVED: dict[str, tuple[str, str]] = {
    "mailing_list": ("settings", "mailing_list"),
    "meta": ("subjects", "meta"),
    "unsubscribe": ("suppression", "unsubscribe"),
    "read_unsubscribe": ("suppression", "read_unsubscribe"),
    "fresh_unsubscribe_token": ("suppression", "fresh_unsubscribe_token"),
    "read_confirmation": ("opt_in", "read_confirmation"),
    "confirmation_resendable": ("opt_in", "confirmation_resendable"),
    "resend_confirmation": ("opt_in", "resend_confirmation"),
    "read_preferences": ("preferences", "read"),
    "update_preferences": ("preferences", "update"),
    "preferences_resendable": ("preferences", "resendable"),
    "resend_preferences": ("preferences", "resend"),
    "can_mail_links": ("_mailer", "can_mail_links"),
    "subject_of": ("subjects", "subject_of"),
    "register": ("subjects", "register"),
    "history": ("subjects", "history"),
    "forget_subject": ("subjects", "forget"),
    "forget_all": ("subjects", "forget_all"),
}


class Email:
    """E-mail consent for one shop. Addresses are kept only as blind indexes and subject-key tokens."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, keyring: Keyring, fields: Fields,
                 outbox: Outbox, clock: Callable[[], datetime], public_base_url: str,
                 adapter: Callable[[], PlatformAdapter], jobs: Callable[[], Jobs] | None = None,
                 restrictions: Callable[[], SubjectRestrictions | None] | None = None) -> None:
        """``adapter`` returns the platform adapter when a change is delivered (built on first use); ``jobs`` the
        checkpoints of an import (default: a :class:`~shopprivacy.store.jobs.Jobs` on ``store``);
        ``restrictions`` the subject restrictions the send guard honours (rights requests)."""
        self.settings = settings
        links = Links(settings, keyring, public_base_url=public_base_url)
        #: The addresses held: subject pseudonyms, encrypted addresses, proof metadata, forgetting.
        self.subjects = subjects = Subjects(store=store, keyring=keyring, fields=fields, clock=clock)
        propagation = Propagation(store=store, outbox=outbox, subjects=subjects, adapter=adapter)
        self._mailer = mailer = LinkMailer(settings, store=store, outbox=outbox, subjects=subjects, links=links)
        #: Unsubscribe (by link or address) and the suppression list.
        self.suppression = suppression = Suppression(settings, store=store, audit=audit, clock=clock,
                                                     subjects=subjects, links=links, propagation=propagation)
        self._sending = SendingGuard(settings, store=store, subjects=subjects, links=links, suppression=suppression,
                                      restrictions=restrictions)
        #: Double opt-in: request, confirmation, re-send, purge.
        self.opt_in = OptIn(settings, store=store, audit=audit, fields=fields, clock=clock, subjects=subjects,
                            links=links, suppression=suppression, propagation=propagation, mailer=mailer)
        #: The preference centre.
        self.preferences = Preferences(settings, store=store, audit=audit, clock=clock, links=links,
                                       suppression=suppression, propagation=propagation, mailer=mailer)
        #: Consent changes made on the platform (its webhooks), applied without being mirrored back.
        self.platform = PlatformChanges(settings, store=store, audit=audit, clock=clock, subjects=subjects)
        #: The import of consent held before the SDK (records, or a platform's customers), as imported proof.
        self.importing = ConsentImport(settings, store=store, audit=audit, clock=clock, subjects=subjects,
                                       jobs=jobs or (lambda: _jobs(store)))
        outbox.register(TOPIC, propagation.deliver)
        outbox.register(LINK_TOPIC, mailer.deliver)

    # -- suppression (addresses, their records and forgetting them: ``subjects``) ---------------------------
    def unsubscribe_address(self, address: str, list_id: str = ALL, *, meta: Meta | None = None) -> Change:
        """Unsubscribe by address (a reply, a support request, a bounce policy)."""
        return self.suppression.unsubscribe_address(address, list_id, meta=meta)

    def suppress(self, address: str, list_id: str = ALL, *, reason: str = "manual") -> None:
        """Add an address to the suppression list (bounces, complaints, requests by other channels)."""
        self.suppression.suppress(address, list_id, reason=reason)

    def is_suppressed(self, address: str, list_id: str | None = None) -> bool:
        """True when ``address`` must not receive marketing on ``list_id``; with ``None``: when it is suppressed
        from every list."""
        return self.suppression.is_suppressed(address, list_id)

    def is_paused(self, address: str, list_id: str) -> bool:
        """True while the subscriber has paused marketing on ``list_id`` from the preference centre."""
        return self.suppression.is_paused(address, list_id)

    def state(self, address: str, list_id: str) -> str:
        """Where ``address`` stands on ``list_id``: ``subscribed``, ``paused``, ``pending`` (opt-in awaiting its
        confirmation), ``unsubscribed`` (suppressed) or ``not_subscribed``."""
        return self.suppression.state(address, list_id)

    # -- sending --------------------------------------------------------------------------------------------
    def guard(self, address: str, list_id: str) -> None:
        """Raise SuppressedRecipient unless a marketing mail to ``address`` on ``list_id`` may be sent: NotOptedIn
        (a subclass) when no opt-in to the list is recorded. Transactional lists are never blocked."""
        self._sending.guard(address, list_id)

    def unsubscribe_url(self, address: str, list_id: str, *, customer_ref: str | None = None) -> str:
        """A signed one-click unsubscribe link for ``address`` on ``list_id`` (``"*"``: every list)."""
        return self._sending.unsubscribe_url(address, list_id, customer_ref=customer_ref)

    def headers(self, address: str, list_id: str, *, customer_ref: str | None = None) -> dict[str, str]:
        """``List-Unsubscribe`` (HTTPS, optional mailto) and ``List-Unsubscribe-Post`` (RFC 8058)."""
        return self._sending.headers(address, list_id, customer_ref=customer_ref)

    def headers_for_many(self, addresses: Sequence[str], list_id: str, *,
                         customer_refs: Sequence[str | None] | None = None) -> dict[str, dict[str, str]]:
        """:meth:`headers` for a whole mailing in one call: one read for every address, and one write transaction
        only for addresses not recorded yet (none on a list mailed before). ``customer_refs``: one per address
        (or ``None``). Returns {address: headers}."""
        return self._sending.headers_for_many(addresses, list_id, customer_refs=customer_refs)

    def prepare(self, message: EmailMessage, list_id: str, *, customer_ref: str | None = None) -> EmailMessage:
        """Check the recipient (``To``) with :meth:`guard` and add the unsubscribe headers to ``message``."""
        return self._sending.prepare(message, list_id, customer_ref=customer_ref)

    def preferences_url(self, address: str) -> str:
        """A signed link to the preference centre of ``address``."""
        return self._sending.preferences_url(address)

    # -- double opt-in and link mails -----------------------------------------------------------------------
    def request_opt_in(self, address: str, list_id: str, *, source: str, consent_text_version: str,
                       ip: str | None = None, user_agent: str | None = None,
                       customer_ref: str | None = None) -> str:
        """Store a pending opt-in and return the confirmation link to mail. RateLimited past the limit."""
        return self.opt_in.request(address, list_id, source=source, consent_text_version=consent_text_version,
                                   ip=ip, user_agent=user_agent, customer_ref=customer_ref)

    def confirm_opt_in(self, token: str, *, ip: str | None = None, user_agent: str | None = None) -> Change:
        """Confirm a pending opt-in: proof (time, list, text version, source, hashed IP and UA), audited."""
        return self.opt_in.confirm(token, ip=ip, user_agent=user_agent)

    def set_sender(self, sender: Sender | None) -> None:
        """The function that mails :class:`LinkMail` values (fresh links asked for on expired-link pages)."""
        self._mailer.set_sender(sender)

    def run_due(self, now: datetime) -> dict[str, int]:
        """Purge unconfirmed opt-in requests past their expiry and re-send window (their proof stays)."""
        return {"expired_opt_ins": self.opt_in.purge_expired(now)}

    if not TYPE_CHECKING:  # deprecated names resolve at run time only, so type checkers point to the new ones

        def __getattr__(self, name: str) -> Any:
            moved = _MOVED.get(name)
            if moved is None or name.startswith("__"):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            part, new = moved
            instead = ("sp.email.opt_in.confirmation_resendable or sp.email.preferences.resendable"
                       if part == "_mailer" else f"sp.email.{part}.{new}")
            warnings.warn(f"sp.email.{name} is deprecated; use {instead}", DeprecationWarning, stacklevel=2)
            return getattr(self.__getattribute__(part), new)


def _jobs(store: Store) -> Jobs:
    from ..store.jobs import Jobs

    return Jobs(store)


__all__ = ["ALL", "TOPIC", "Change", "Email", "LinkMail", "Meta", "PlatformConsentUpdate", "Sender"]
