"""A person's earlier requests: listed in an export, closed and forgotten on erasure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from . import records
from .archive import export_subject
from .model import IDENTIFIERS, OPEN_STATES, Subject
from .tables import exports, identifiers, requests

if TYPE_CHECKING:
    from .kit import RightsKit


class EarlierRequests:
    """The rights data the SDK holds about a person beyond the request at hand."""

    def __init__(self, kit: RightsKit) -> None:
        self.kit = kit

    def consent_id_of(self, request_id: str) -> str | None:
        """The cookie-consent id the request was made with (portal requests), if any."""
        if not request_id:
            return None
        with self.kit.store.begin(write=False) as conn:
            token = conn.execute(select(requests.c.consent_ref).where(requests.c.id == request_id)).scalar()
        if token is None:
            return None
        value = self.kit.fields.decrypt(token, context=records.CONSENT_CONTEXT, row=request_id)
        return value if isinstance(value, str) else None

    def _related(self, conn: Connection, subject: Subject) -> list[Any]:
        bidxs = [self.kit.bidx(k, v) for k in ("email", "phone", "customer_id") if (v := subject.get(k))]
        if not bidxs:
            return []
        # a new e-mail or phone not yet confirmed (identifier_change) links the request to nobody
        linking = identifiers.c.kind.in_(IDENTIFIERS) | identifiers.c.verified_at.is_not(None)
        q = (select(requests).join(identifiers, identifiers.c.request_id == requests.c.id)
             .where(identifiers.c.bidx.in_(bidxs), requests.c.id != subject.request_id, linking).distinct())
        return list(conn.execute(q).all())

    def requests_of(self, subject: Subject) -> list[dict[str, Any]]:
        """Earlier requests of the same person (for the export)."""
        with self.kit.store.begin(write=False) as conn:
            rows = self._related(conn, subject)
        return [{"id": r.id, "kind": r.kind, "state": r.state, "received_at": r.received_at.isoformat(),
                 "completed_at": r.completed_at.isoformat() if r.completed_at else None} for r in rows]

    def forget_earlier(self, subject: Subject, pseudonyms: Iterable[str] = ()) -> int:
        """Erasure of the rights data itself: the person's other open requests are closed first (rejected,
        superseded by this erasure), then earlier exports shredded and deleted and identifiers dropped; the
        subject keys of those requests and of ``pseudonyms`` are shredded. Returns the number of requests."""
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            rows = self._related(conn, subject)
            ids = [r.id for r in rows]
            for r in rows:
                if r.state in OPEN_STATES:
                    n = conn.execute(update(requests).where(requests.c.id == r.id,
                                                            requests.c.state.in_(sorted(OPEN_STATES))).values(
                        state="rejected", reject_reason=f"superseded by erasure request {subject.request_id}"[:200],
                        completed_at=now, updated_at=now, next_attempt_at=None)).rowcount
                    if n:
                        kit.audit_request(conn, r, "rights.rejected", actor="rights",
                                          superseded_by=subject.request_id)
            if ids:
                conn.execute(update(exports).where(exports.c.request_id.in_(ids)).values(archive=None,
                                                                                         wrapped_key=None))
                conn.execute(update(identifiers).where(identifiers.c.request_id.in_(ids)).values(value=None))
                conn.execute(update(requests).where(requests.c.id.in_(ids)).values(changes=None, consent_ref=None,
                                                                                   orders=None))
        for s in {r.subject for r in rows} | {export_subject(r.id) for r in rows} | set(pseudonyms):
            kit.fields.shred(s, actor="rights")
        return len(rows)
