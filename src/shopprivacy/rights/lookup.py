"""Reading requests: one by id, a list soonest due first, and the receipt of one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from . import records
from .model import OPEN_STATES, Receipt, RightsRequest, SourceReceipt
from .tables import requests

if TYPE_CHECKING:
    from .kit import RightsKit


class RequestLookup:
    """Read-only views of requests, for the operator, the CLI and the pages."""

    def __init__(self, kit: RightsKit) -> None:
        self.kit = kit

    def get(self, request_id: str) -> RightsRequest:
        """The request as it stands; NotFoundError when there is none."""
        with self.kit.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, request_id))

    def find(self, *, state: str | None = None, overdue: bool = False, limit: int = 100) -> list[RightsRequest]:
        """Requests, soonest due first; ``overdue=True``: open requests past their due date."""
        q = select(requests).order_by(requests.c.due_at, requests.c.id).limit(limit)
        if state is not None:
            q = q.where(requests.c.state == state)
        if overdue:
            q = q.where(requests.c.state.in_(sorted(OPEN_STATES)), requests.c.due_at < self.kit.clock())
        with self.kit.store.begin(write=False) as conn:
            return [records.to_request(r) for r in conn.execute(q).all()]

    def receipt(self, request_id: str) -> Receipt:
        """The request, its per-source receipts and failures, and its audited timeline."""
        with self.kit.store.begin(write=False) as conn:
            row = records.load(conn, request_id)
            steps = records.step_rows(conn, row.id)
        sources = tuple(SourceReceipt.from_json(s.receipt) for s in steps.values() if s.receipt)
        failures = {name: s.last_error or "" for name, s in steps.items()
                    if s.status == "failed" or (s.status == "pending" and s.last_error)}
        timeline = tuple((e.at, e.action) for e in self.kit.audit.entries(subject=row.subject, limit=5000)
                         if e.meta.get("request") == row.id)
        return Receipt(records.to_request(row), sources, failures, timeline)
