"""The register itself: open a breach, record later phases, the authority report (or why none is due), close;
read breaches back with their steps. Every step is a row of ``sp_breach_events`` and an audit entry, written
in one transaction with the change."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import ConflictError, InvalidInput, NotFoundError
from .model import AUTHORITY_DEADLINE, Breach, Incident, IncidentUpdate, merged
from .tables import breach_events, breaches

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store

#: How far ahead of the clock an awareness time may lie (clock skew between machines).
CLOCK_SKEW = timedelta(minutes=5)
_REASON_MAX = 2000


def _reason(text: str | None, what: str, *, required: bool) -> str | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"give the {what}")
        return None
    if len(value) > _REASON_MAX or "\x00" in value:
        raise InvalidInput(f"the {what} must be at most {_REASON_MAX} characters")
    return value


class Register:
    """Writing and reading ``sp_breaches`` and ``sp_breach_events``."""

    def __init__(self, *, store: Store, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self.store, self.audit, self.clock = store, audit, clock

    # -- steps ------------------------------------------------------------------------------------------------
    def step(self, conn: Connection, breach_id: str, action: str, *, actor: str, now: datetime,
             **changed: Any) -> None:
        """Record one step of a breach: an event row and an audit entry (names and counts only)."""
        seq = conn.execute(select(func.coalesce(func.max(breach_events.c.seq), 0))
                           .where(breach_events.c.breach_id == breach_id)).scalar_one() + 1
        conn.execute(insert(breach_events).values(breach_id=breach_id, seq=seq, at=now, actor=actor[:120],
                                                  action=action, changed=changed))
        meta = {"breach": breach_id, **{k: (",".join(v) if isinstance(v, list) else v)[:200]
                                        if isinstance(v, (str, list)) else v for k, v in changed.items()}}
        self.audit.append(conn, actor=actor[:120], action=f"breach.{action}", meta=meta)

    def events(self, breach_id: str) -> list[dict[str, Any]]:
        """The steps of a breach, oldest first: time, actor, action and what changed."""
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(breach_events).where(breach_events.c.breach_id == breach_id)
                                .order_by(breach_events.c.seq)).all()
        return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "changed": dict(r.changed)}
                for r in rows]

    # -- lifecycle --------------------------------------------------------------------------------------------
    def open(self, incident: Incident, *, actor: str) -> Breach:
        now = self.clock()
        if incident.discovered_at > now + CLOCK_SKEW:
            raise InvalidInput("incident: discovered_at lies in the future")
        breach_id = "br_" + secrets.token_hex(8)
        with self.store.begin() as conn:
            conn.execute(insert(breaches).values(
                id=breach_id, state="open", aware_at=incident.discovered_at,
                authority_due_at=incident.discovered_at + AUTHORITY_DEADLINE, authority="pending",
                incident=incident.model_dump(mode="json"), opened_at=now, updated_at=now))
            self.step(conn, breach_id, "opened", actor=actor, now=now, kinds=list(incident.kinds),
                      data_categories=len(incident.data_categories), stores=list(incident.scope.stores))
        return self.get(breach_id)

    def update(self, breach_id: str, changes: IncidentUpdate, *, actor: str) -> Breach:
        now = self.clock()
        with self.store.begin() as conn:
            row = self._row(conn, breach_id, lock=True)
            incident, changed = merged(_incident(row), changes)
            if not changed:
                return _breach(row)
            conn.execute(update(breaches).where(breaches.c.id == breach_id)
                         .values(incident=incident.model_dump(mode="json"), updated_at=now))
            self.step(conn, breach_id, "updated", actor=actor, now=now, fields=changed)
        return self.get(breach_id)

    def report(self, breach_id: str, *, at: datetime | None, reference: str | None, delay_reason: str | None,
               actor: str) -> Breach:
        """Record the report to the authority; after the 72 hours the reasons for the delay are required."""
        now = self.clock()
        when = at or now
        if when.tzinfo is None or when > now + CLOCK_SKEW:
            raise InvalidInput("the report time must be timezone-aware and not in the future")
        ref = _reason(reference, "authority's reference", required=False)
        if ref is not None and len(ref) > 200:
            raise InvalidInput("the authority's reference must be at most 200 characters")
        with self.store.begin() as conn:
            row = self._row(conn, breach_id, lock=True)
            if row.authority != "pending":
                raise ConflictError(f"breach {breach_id}: the authority decision is already recorded "
                                    f"({row.authority})")
            if when < row.aware_at:
                raise InvalidInput("the report time is before the shop became aware of the breach")
            late = when > row.authority_due_at
            reason = _reason(delay_reason, "reasons for the delay (GDPR Art. 33(1): the report is later than "
                                           "72 hours after awareness)", required=late)
            conn.execute(update(breaches).where(breaches.c.id == breach_id).values(
                authority="reported", reported_at=when, report_reference=ref, delay_reason=reason, updated_at=now))
            self.step(conn, breach_id, "reported", actor=actor, now=now, late=late,
                      hours=int((when - row.aware_at).total_seconds() // 3600))
        return self.get(breach_id)

    def not_required(self, breach_id: str, reason: str, *, actor: str) -> Breach:
        """Record that the breach is unlikely to result in a risk, so no report is due (Art. 33(1)), and why."""
        text = _reason(reason, "reason no report is due (unlikely to result in a risk to people)", required=True)
        now = self.clock()
        with self.store.begin() as conn:
            row = self._row(conn, breach_id, lock=True)
            if row.authority != "pending":
                raise ConflictError(f"breach {breach_id}: the authority decision is already recorded "
                                    f"({row.authority})")
            conn.execute(update(breaches).where(breaches.c.id == breach_id).values(
                authority="not_required", not_required_reason=text, updated_at=now))
            self.step(conn, breach_id, "report_not_required", actor=actor, now=now)
        return self.get(breach_id)

    def close(self, breach_id: str, *, actor: str) -> Breach:
        now = self.clock()
        with self.store.begin() as conn:
            row = self._row(conn, breach_id, lock=True)
            if row.state == "closed":
                return _breach(row)
            if row.authority == "pending":
                raise ConflictError(f"breach {breach_id}: record the report to the authority (breach report) or "
                                    "why none is due (breach no-report) before closing it")
            conn.execute(update(breaches).where(breaches.c.id == breach_id)
                         .values(state="closed", closed_at=now, updated_at=now))
            self.step(conn, breach_id, "closed", actor=actor, now=now)
        return self.get(breach_id)

    def save_assessment(self, conn: Connection, breach_id: str, assessment: Mapping[str, Any],
                        exemption: str | None, *, actor: str, now: datetime) -> None:
        conn.execute(update(breaches).where(breaches.c.id == breach_id)
                     .values(assessment=dict(assessment), exemption=exemption, updated_at=now))
        counts = assessment.get("counts", {})
        self.step(conn, breach_id, "assessed", actor=actor, now=now,
                  **{k: int(v) for k, v in counts.items() if isinstance(v, int)})

    # -- reading ----------------------------------------------------------------------------------------------
    def _row(self, conn: Connection, breach_id: str, *, lock: bool = False) -> Any:
        q = select(breaches).where(breaches.c.id == breach_id)
        row = conn.execute(q.with_for_update() if lock and self.store.dialect == "postgresql" else q).first()
        if row is None:
            raise NotFoundError(f"no breach {str(breach_id)[:40]!r} in the register")
        return row

    def get(self, breach_id: str) -> Breach:
        with self.store.begin(write=False) as conn:
            return _breach(self._row(conn, breach_id))

    def find(self, *, state: str | None = "open", overdue_at: datetime | None = None,
             limit: int = 100) -> list[Breach]:
        """Breaches, soonest authority deadline first; ``overdue_at``: only those overdue at that time."""
        q = select(breaches).order_by(breaches.c.authority_due_at, breaches.c.id).limit(limit)
        if state is not None:
            q = q.where(breaches.c.state == state)
        if overdue_at is not None:
            q = q.where(breaches.c.authority == "pending", breaches.c.authority_due_at < overdue_at)
        with self.store.begin(write=False) as conn:
            return [_breach(r) for r in conn.execute(q)]


def _incident(row: Any) -> Incident:
    return Incident.model_validate(row.incident)


def _breach(row: Any) -> Breach:
    return Breach(id=row.id, state=row.state, incident=_incident(row), aware_at=row.aware_at,
                  authority_due_at=row.authority_due_at, authority=row.authority, opened_at=row.opened_at,
                  reported_at=row.reported_at, report_reference=row.report_reference, delay_reason=row.delay_reason,
                  not_required_reason=row.not_required_reason,
                  assessment=dict(row.assessment) if row.assessment is not None else None,
                  exemption=row.exemption, closed_at=row.closed_at)
