"""``run-due`` for rights requests: expire abandoned ones, process the ready ones, remind the operator, count
the overdue, purge expired exports and old identifiers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, update

from ..errors import ConflictError, JobBusy
from . import records
from .model import CLOSED_STATES, FEEDBACK_KINDS, IDENTIFIERS, OPEN_STATES
from .tables import attempts, exports, identifiers, requests

if TYPE_CHECKING:
    from .identifier_change import IdentifierChanges
    from .kit import RightsKit
    from .notices import NoticeQueue
    from .processing import Processor

log = logging.getLogger("shopprivacy.rights")
#: Serialises the expiry and reminder transactions of concurrent ``run-due`` (PostgreSQL advisory lock; SQLite's
#: write lock already does).
DUE_LOCK = "shopprivacy:rights-due"
COUNTS = ("processed", "failed", "waiting", "expired", "reminders", "overdue", "unacknowledged", "exports_purged",
          "identifiers_dropped")


class DueWork:
    """The periodic work of ``sp.rights`` (see :meth:`run_due`)."""

    def __init__(self, kit: RightsKit, processor: Processor, identifier_changes: IdentifierChanges,
                 notices: NoticeQueue) -> None:
        self.kit, self.processor = kit, processor
        self.identifier_changes, self.notices = identifier_changes, notices

    @staticmethod
    def ready_filter(now: datetime) -> Any:
        """Requests ``run-due`` may process at ``now``: verified, open and not backing off."""
        return and_(requests.c.state.in_(["verified", "in_progress", "extended"]), requests.c.verified_at.is_not(None),
                    (requests.c.next_attempt_at.is_(None)) | (requests.c.next_attempt_at <= now),
                    (requests.c.cancel_until.is_(None)) | (requests.c.cancel_until <= now),
                    requests.c.kind.not_in(sorted(FEEDBACK_KINDS)))  # questions and complaints are answered

    def run_due(self, now: datetime) -> dict[str, int]:
        """Process ready requests, expire abandoned ones, remind the operator, count the overdue."""
        counts = dict.fromkeys(COUNTS, 0)
        counts["expired"] = self._expire(now)
        self._process_ready(now, counts)
        self._remind_and_purge(now, counts)
        return counts

    def _expire(self, now: datetime) -> int:
        kit = self.kit
        with kit.store.begin() as conn:
            kit.store.lock(conn, DUE_LOCK)  # two run-due at once: the second sees what the first expired
            stale = conn.execute(select(requests).where(requests.c.state.in_(sorted(OPEN_STATES)),
                                                        requests.c.verified_at.is_(None),
                                                        requests.c.verify_expires_at <= now)).all()
            for row in stale:
                records.set_state(conn, row.id, now, state="expired", completed_at=now)
                kit.audit_request(conn, row, "rights.expired")
            return len(stale) + self.identifier_changes.expire_unconfirmed(conn, now)

    def _process_ready(self, now: datetime, counts: dict[str, int]) -> None:
        with self.kit.store.begin(write=False) as conn:
            ready = conn.execute(select(requests.c.id, requests.c.verified_at).where(self.ready_filter(now))
                                 .order_by(requests.c.due_at).limit(200)).all()
            grace = timedelta(hours=self.kit.settings.verify_grace_hours)
            pending = {r.request_id for r in conn.execute(select(identifiers.c.request_id).where(
                identifiers.c.request_id.in_([r.id for r in ready]), identifiers.c.kind.in_(IDENTIFIERS),
                identifiers.c.verified_at.is_(None))).all()}
        for r in ready:
            if r.id in pending and r.verified_at + grace > now:
                counts["waiting"] += 1  # other identifiers may still be verified
                continue
            try:
                request, ok = self.processor.process_one(r.id)
            except (JobBusy, ConflictError):
                continue
            counts["processed" if ok and request.state == "done" else "waiting" if ok else "failed"] += 1

    def _remind_and_purge(self, now: datetime, counts: dict[str, int]) -> None:
        kit, s = self.kit, self.kit.settings
        open_states = requests.c.state.in_(sorted(OPEN_STATES))
        with kit.store.begin() as conn:
            kit.store.lock(conn, DUE_LOCK)  # one reminder per request, however many run-due run at once
            soon = conn.execute(select(requests).where(
                open_states, requests.c.reminded_at.is_(None),
                requests.c.due_at <= now + timedelta(days=s.remind_days_before))).all()
            for row in soon:
                records.set_state(conn, row.id, now, reminded_at=now)
                if s.operator_email:
                    self.notices.notify(conn, row.id, "reminder", "operator", suffix=row.due_at.isoformat())
                log.warning("rights request %s (%s) is due on %s", row.id, row.kind, row.due_at.date().isoformat())
            counts["reminders"] = len(soon)
            counts["overdue"] = int(conn.execute(select(func.count()).select_from(requests).where(
                open_states, requests.c.due_at < now)).scalar_one())
            counts["unacknowledged"] = int(conn.execute(select(func.count()).select_from(requests).where(
                open_states, requests.c.acknowledge_by < now, requests.c.acknowledged_at.is_(None))).scalar_one())
            counts["exports_purged"] = int(conn.execute(update(exports).where(
                exports.c.expires_at <= now, exports.c.archive.is_not(None)).values(archive=None,
                                                                                    wrapped_key=None)).rowcount)
            cutoff = now - timedelta(days=s.keep_identifiers_days)
            old = select(requests.c.id).where(requests.c.state.in_(sorted(CLOSED_STATES)),
                                              func.coalesce(requests.c.completed_at, requests.c.updated_at) < cutoff)
            counts["identifiers_dropped"] = int(conn.execute(update(identifiers).where(
                identifiers.c.request_id.in_(old), identifiers.c.value.is_not(None)).values(value=None)).rowcount)
            conn.execute(update(requests).where(requests.c.id.in_(old), requests.c.changes.is_not(None)
                                                | requests.c.consent_ref.is_not(None) | requests.c.orders.is_not(None))
                         .values(changes=None, consent_ref=None, orders=None))
            conn.execute(attempts.delete().where(attempts.c.at < now - timedelta(hours=s.rate_window_hours)))
