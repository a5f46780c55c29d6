"""``sp.rights``: open, verify, process, extend and reject rights requests; deadlines; notices; receipts.

:class:`Rights` is the entry: it takes its collaborators, wires the parts (each one job: :mod:`.opening`,
:mod:`.verification`, :mod:`.lookup`, :mod:`.decisions`, :mod:`.processing`, :mod:`.due`, :mod:`.redaction`,
:mod:`.registry` of sources, :mod:`.notices`, :mod:`.identifier_change`, :mod:`.downloads`) and delegates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from .builtin import PLATFORM_TOPIC, SdkSource
from .cancellation import ErasureGrace
from .decisions import Decisions
from .downloads import Downloads
from .due import DueWork
from .history import EarlierRequests
from .identifier_change import IdentifierChanges
from .kit import RightsKit
from .lookup import RequestLookup
from .model import Receipt, RightsRequest
from .notices import NOTICE_TOPIC, NoticeDelivery, NoticeQueue, Sender
from .opening import Opening
from .platform_erasure import CHECK_TOPIC, PlatformErasure, PlatformErasureCheck, queue_platform_erase
from .platform_rectify import RECTIFY_TOPIC, PlatformRectify, queue_platform_rectify
from .platform_sale import SALE_TOPIC, PlatformSaleOptOut, queue_platform_sale_opt_out
from .processing import Completion, Processor
from .redaction import ShopRedaction
from .registry import AdapterProvider, SourceRegistry
from .replay import REPLAY_TOPIC, ErasureReplay, ReplayedPlatformErasure
from .settings import RightsSettings
from .sources import DataSource
from .subject_effects import SubjectEffects
from .verification import Verification

if TYPE_CHECKING:
    from ..consent.service import Consent
    from ..email.service import Email
    from ..fields.api import Fields
    from ..keys import Keyring
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.jobs import Jobs
    from ..store.journal import ErasureJournal
    from ..store.outbox import Outbox
    from ..store.restrictions import SubjectRestrictions


class Rights:
    """Rights requests for one shop. Register the shop's sources with :meth:`register_source` and a
    :meth:`set_sender` that mails (or texts) notices; the SDK's data and the platform are built in.

    Built by the facade (``sp.rights``) from its collaborators; ``adapter`` returns the platform adapter when
    the shop uses one (``None`` otherwise) and is called only when work reaches the platform.
    """

    def __init__(self, *, store: Store, audit: AuditLog, keyring: Keyring, outbox: Outbox, jobs: Jobs,
                 settings: RightsSettings, clock: Callable[[], datetime], fields: Fields, email: Email,
                 consent: Consent, adapter: AdapterProvider, public_base_url: str,
                 restrictions: SubjectRestrictions, default_locale: str = "en",
                 journal: ErasureJournal | None = None) -> None:
        kit = RightsKit(store=store, audit=audit, keyring=keyring, fields=fields, outbox=outbox, jobs=jobs,
                        clock=clock, settings=settings, public_base_url=public_base_url,
                        default_locale=default_locale, journal=journal)
        self.settings = settings
        notices = NoticeQueue(kit)
        self.sdk_source = SdkSource(kit, email, consent, EarlierRequests(kit))
        registry = SourceRegistry(self.sdk_source, adapter, partial(queue_platform_erase, kit),
                                  partial(queue_platform_rectify, kit))
        self.identifier_changes = IdentifierChanges(kit, notices, registry)
        self._grace = ErasureGrace(kit, notices)
        verification, downloads = Verification(kit, self._grace), Downloads(kit)
        completion = Completion(kit, registry, notices, self.identifier_changes)
        self._effects = SubjectEffects(kit, registry, email, restrictions, completion, notices,
                                       partial(queue_platform_sale_opt_out, kit))
        processor = Processor(kit, registry, self.identifier_changes, notices, downloads, completion, self._effects)
        self._registry, self._verification, self._downloads = registry, verification, downloads
        self._delivery = NoticeDelivery(kit, email, registry, verification, self.identifier_changes)
        self._opening = Opening(kit, email, registry, notices)
        self._lookup, self._decisions = RequestLookup(kit), Decisions(kit, notices)
        self._processor = processor
        self._due = DueWork(kit, processor, self.identifier_changes, notices)
        self._redaction = ShopRedaction(kit, registry, email)
        #: The erasure journal's replay after a restored backup (``status()``, ``replay()``).
        self.erasures = ErasureReplay(kit, email)
        outbox.register(NOTICE_TOPIC, self._delivery.deliver)
        outbox.register(PLATFORM_TOPIC, PlatformErasure(kit, adapter, completion).deliver)
        outbox.register(CHECK_TOPIC, PlatformErasureCheck(kit, adapter, completion, notices).deliver)
        outbox.register(REPLAY_TOPIC, ReplayedPlatformErasure(kit, adapter).deliver)
        outbox.register(RECTIFY_TOPIC, PlatformRectify(kit, adapter, self.identifier_changes, completion).deliver)
        outbox.register(SALE_TOPIC, PlatformSaleOptOut(kit, adapter, completion).deliver)

    # -- wiring ---------------------------------------------------------------------------------------
    def register_source(self, source: DataSource) -> None:
        """Add a shop source (e.g. a :class:`~.sources.TableSource`); names must be unique."""
        self._registry.register(source)

    def sources(self) -> list[DataSource]:
        """The shop's registered sources (the SDK's own and the platform are built in and not listed)."""
        return self._registry.shop()

    def set_sender(self, sender: Sender | None) -> None:
        """The function that delivers :class:`~.model.Notice` values (mail, SMS); until set, notices wait."""
        self._delivery.sender = sender

    # -- opening and verification ---------------------------------------------------------------------
    def open(self, kind: str, identity: Mapping[str, str], *, channel: str = "portal", regime: str | None = None,
             verified_by: str | None = None, changes: Mapping[str, str] | None = None, locale: str | None = None,
             external_id: str | None = None, ip: str | None = None, consent_id: str | None = None,
             orders: Sequence[str] | None = None, message: str | None = None) -> RightsRequest:
        """Open (or merge into an open one, or return the one with ``external_id``) a request.

        Without ``verified_by``, a signed link is sent to every identifier (the e-mail address, the phone,
        the address on file for a customer id) and only verified identifiers are ever used. The work done
        is the same whether or not the shop knows the person, so the answer reveals nothing. ``orders``:
        order ids the platform named with a forwarded request (sources matching on ``order_id`` use them).
        ``message``: the text of a ``question`` or ``complaint`` (kept encrypted; the operator answers it).
        """
        return self._opening.open(kind, identity, channel=channel, regime=regime, verified_by=verified_by,
                                  changes=changes, locale=locale, external_id=external_id, ip=ip,
                                  consent_id=consent_id, orders=orders, message=message)

    def preferences_notice(self, address: str, *, ip: str | None = None) -> None:
        """Mail the e-mail preference link to ``address`` when it is on a list (neutral either way)."""
        self._opening.preferences_notice(address, ip=ip)

    def read_verify(self, token: str) -> RightsRequest:
        """The request a verification link is for (no change); BadToken, ExpiredToken or NotFoundError."""
        return self._verification.read(token)

    def verify(self, token: str) -> RightsRequest:
        """Verify the identifier a link was sent to. Idempotent; only that identifier becomes usable."""
        return self._verification.verify(token)

    def read_cancel(self, token: str) -> RightsRequest:
        """The erasure a cancel link is for, while it can be cancelled (no change); see :mod:`.cancellation`."""
        return self._grace.read(token)

    def cancel(self, token: str) -> RightsRequest:
        """Cancel a confirmed erasure within its grace window, from the mailed link (once)."""
        return self._grace.cancel(token)

    # -- reading --------------------------------------------------------------------------------------
    def get(self, request_id: str) -> RightsRequest:
        """The request as it stands; NotFoundError when there is none."""
        return self._lookup.get(request_id)

    def find(self, *, state: str | None = None, overdue: bool = False, limit: int = 100) -> list[RightsRequest]:
        """Requests, soonest due first; ``overdue=True``: open requests past their due date."""
        return self._lookup.find(state=state, overdue=overdue, limit=limit)

    def receipt(self, request_id: str) -> Receipt:
        """The request, its per-source receipts and failures, and its audited timeline."""
        return self._lookup.receipt(request_id)

    # -- decisions ------------------------------------------------------------------------------------
    def extend(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Extend once (GDPR: to three months from receipt; CCPA: to 90 days), telling the requester why."""
        return self._decisions.extend(request_id, reason, actor=actor)

    def reject(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Refuse a request (e.g. manifestly unfounded, or a legal obligation to keep the data), with reason."""
        return self._decisions.reject(request_id, reason, actor=actor)

    def message(self, request_id: str) -> str:
        """The message of a question or complaint (the read is audited)."""
        return self._decisions.message(request_id)

    def answer(self, request_id: str, text: str, *, actor: str = "operator") -> RightsRequest:
        """Answer a verified question or complaint; the requester gets the answer (``answered`` notice)."""
        return self._decisions.answer(request_id, text, actor=actor)

    # -- work -----------------------------------------------------------------------------------------
    def process(self, request_id: str) -> RightsRequest:
        """Run a verified request now: export, erase or rectify across every source (see processing)."""
        return self._processor.process(request_id)

    def run_due(self, now: datetime) -> dict[str, int]:
        """Process ready requests, expire abandoned ones, remind the operator, count the overdue."""
        return self._due.run_due(now)

    def lift_restriction(self, identity: Mapping[str, str], *, reason: str, effect: str = "restrict",
                         actor: str = "operator") -> int:
        """Lift a restriction of processing (or, with ``effect``, an objection or an opt-out of sale the person
        withdrew) from every identifier given; each requester who asked for it gets a ``restriction_lifted``
        notice (GDPR Art. 18(3)). Returns how many requests' effects were lifted (0: none was in place)."""
        return self._effects.lift(identity, reason=reason, effect=effect, actor=actor)

    def redact_shop(self, *, external_id: str) -> Mapping[str, Any]:
        """Remove what the SDK and the shop sources hold for this shop (platform ``shop/redact``)."""
        return self._redaction.redact_shop(external_id=external_id)

    # -- downloads ------------------------------------------------------------------------------------
    def read_download(self, token: str) -> RightsRequest:
        """The request a download link is for (nothing used up)."""
        return self._downloads.read(token)

    def download(self, token: str) -> tuple[RightsRequest, bytes]:
        """The export zip, once: the archive is deleted in the same transaction that hands it out."""
        return self._downloads.download(token)
