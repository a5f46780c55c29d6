"""``sp.breaches``: the breach register (GDPR Art. 33 and 34).

:class:`Breaches` is the entry: it wires the :class:`~.register.Register` (breaches, their steps, the 72-hour
clock), the :class:`~.inventory.Inventory` of stores, the :class:`~.assessment.Assessment` of affected subjects
and the :class:`~.notices.Notices` to them, and builds the authority report (:mod:`.report`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..progress import Progress
from .assessment import Assessment
from .inventory import Inventory, StoreInfo
from .model import Breach, Incident, IncidentUpdate, parse_incident, parse_update
from .notices import NOTICE_TOPIC, Notices, Sender
from .register import Register
from .report import report_data, report_html, report_json

if TYPE_CHECKING:
    from ..email.subjects import Subjects
    from ..fields.api import Fields
    from ..keys import Keyring
    from ..rights.sources import DataSource
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.outbox import Outbox

#: An open breach whose report is due within this time is flagged by ``doctor`` and ``run-due``.
DUE_SOON = timedelta(hours=24)


class Breaches:
    """The breach register of one shop. ``subjects`` is ``sp.email.subjects`` (who the SDK can mail);
    ``sources`` returns the shop's sources registered with ``sp.rights`` (the stores a scope may name)."""

    def __init__(self, *, store: Store, audit: AuditLog, keyring: Keyring, fields: Fields, outbox: Outbox,
                 subjects: Subjects, sources: Callable[[], Sequence[DataSource]], clock: Callable[[], datetime],
                 default_locale: str = "en") -> None:
        self.clock = clock
        self.inventory = Inventory(sources)
        self._register = register = Register(store=store, audit=audit, clock=clock)
        self._assessment = Assessment(store=store, audit=audit, keyring=keyring, subjects=subjects,
                                      inventory=self.inventory, register=register, clock=clock)
        self._notices = Notices(store=store, audit=audit, fields=fields, outbox=outbox, subjects=subjects,
                                inventory=self.inventory, register=register, clock=clock,
                                default_locale=default_locale)
        outbox.register(NOTICE_TOPIC, self._notices.deliver)

    def set_sender(self, sender: Sender | None) -> None:
        """The function that mails :class:`~.notices.BreachNotice` values; until set, queued notices wait."""
        self._notices.sender = sender

    # -- the register -------------------------------------------------------------------------------------
    def open(self, incident: Incident | str | bytes | Mapping[str, Any], *, actor: str = "operator") -> Breach:
        """Record a breach (an :class:`Incident`, or its JSON); the 72 hours run from ``discovered_at``."""
        parsed = incident if isinstance(incident, Incident) else parse_incident(incident)
        self.inventory.check(parsed.scope.stores, parsed.scope.fields)
        return self._register.open(parsed, actor=actor)

    def update(self, breach_id: str, changes: IncidentUpdate | str | bytes | Mapping[str, Any], *,
               actor: str = "operator") -> Breach:
        """Record a later phase of information (Art. 33(4)): the fields given replace the recorded ones."""
        parsed = changes if isinstance(changes, IncidentUpdate) else parse_update(changes)
        if parsed.scope is not None:
            self.inventory.check(parsed.scope.stores, parsed.scope.fields)
        return self._register.update(breach_id, parsed, actor=actor)

    def report(self, breach_id: str, *, at: datetime | None = None, reference: str | None = None,
               delay_reason: str | None = None, actor: str = "operator") -> Breach:
        """Record the report to the authority (``at``: when it was made, default now); after the 72 hours the
        reasons for the delay are required (Art. 33(1))."""
        return self._register.report(breach_id, at=at, reference=reference, delay_reason=delay_reason, actor=actor)

    def no_report(self, breach_id: str, reason: str, *, actor: str = "operator") -> Breach:
        """Record that the breach is unlikely to result in a risk to people, so no report is due, and why."""
        return self._register.not_required(breach_id, reason, actor=actor)

    def close(self, breach_id: str, *, actor: str = "operator") -> Breach:
        """Close a breach once the authority decision is recorded; it stays in the register (Art. 33(5))."""
        return self._register.close(breach_id, actor=actor)

    def get(self, breach_id: str) -> Breach:
        """The breach as it stands; NotFoundError when there is none."""
        return self._register.get(breach_id)

    def find(self, *, state: str | None = "open", overdue: bool = False, limit: int = 100) -> list[Breach]:
        """Breaches, soonest authority deadline first; ``overdue=True``: not reported, past the 72 hours."""
        return self._register.find(state=state, overdue_at=self.clock() if overdue else None, limit=limit)

    def events(self, breach_id: str) -> list[dict[str, Any]]:
        """The steps of a breach, oldest first."""
        self._register.get(breach_id)
        return self._register.events(breach_id)

    # -- subjects -----------------------------------------------------------------------------------------
    def stores(self) -> dict[str, StoreInfo]:
        """The stores a scope may name, with their fields and how each is protected at rest."""
        return self.inventory.stores()

    def assess(self, breach_id: str, *, actor: str = "operator", progress: Progress | None = None) -> dict[str, Any]:
        """Compute the affected subjects from the scope and store them by pseudonym; returns the assessment."""
        return self._assessment.run(self._register.get(breach_id), actor=actor, progress=progress)

    def notify(self, breach_id: str, *, locale: str | None = None, actor: str = "operator") -> int:
        """Queue the Art. 34 notice to every affected subject still to be told; returns how many were queued."""
        return self._notices.queue(self._register.get(breach_id), locale=locale, actor=actor)

    def notices(self, breach_id: str) -> dict[str, int]:
        """Subjects per notice state: ``to_send``, ``queued``, ``sent``, ``failing``, ``unreachable``,
        ``not_needed``."""
        return self._notices.counts(breach_id)

    # -- the authority report -----------------------------------------------------------------------------
    def export(self, breach_id: str, *, fmt: str = "json") -> str:
        """The report to the authority as ``json`` or ``html`` (Art. 33(3) contents, timeline, phases)."""
        if fmt not in ("json", "html"):
            raise InvalidInput("the report format is json or html")
        breach = self._register.get(breach_id)
        data = report_data(breach, self._register.events(breach_id), self._notices.counts(breach_id), self.clock())
        return report_json(data) if fmt == "json" else report_html(data)

    # -- periodic -----------------------------------------------------------------------------------------
    def run_due(self, now: datetime) -> dict[str, int]:
        """Count open breaches past their 72 hours and those due within a day (``run-due`` reports them)."""
        pending = [b for b in self._register.find(state="open", limit=1000) if b.authority == "pending"]
        return {"overdue": sum(b.overdue(now) for b in pending),
                "due_within_24h": sum(not b.overdue(now) and b.time_left(now) <= DUE_SOON for b in pending)}
