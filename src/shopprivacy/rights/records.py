"""Durable writes and reads of rights requests, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..errors import NotFoundError
from .model import IDENTIFIERS, RightsRequest, Subject
from .tables import identifiers, requests, steps

if TYPE_CHECKING:
    from ..fields.api import Fields

ID_CONTEXT = "sp_rights_identifiers.value"
CHANGES_CONTEXT = "sp_rights_requests.changes"
CONSENT_CONTEXT = "sp_rights_requests.consent_ref"
ORDERS_CONTEXT = "sp_rights_requests.orders"


def to_request(row: Any) -> RightsRequest:
    return RightsRequest(
        id=row.id, kind=row.kind, state=row.state, regime=row.regime, channel=row.channel,
        received_at=row.received_at, due_at=row.due_at, verified=row.verified_at is not None,
        verified_by=row.verified_by, locale=row.locale, external_id=row.external_id,
        acknowledge_by=row.acknowledge_by, acknowledged_at=row.acknowledged_at,
        extension_reason=row.extension_reason, reject_reason=row.reject_reason, completed_at=row.completed_at,
        subject=row.subject, forwarded_by=row.forwarded_by, cancel_until=row.cancel_until)


def load(conn: Connection, request_id: object, *, lock: bool = False) -> Any:
    """The request row; NotFoundError when there is none."""
    if not isinstance(request_id, str) or not request_id or len(request_id) > 32:
        raise NotFoundError("no such rights request")
    q = select(requests).where(requests.c.id == request_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NotFoundError("no such rights request")
    return row


def set_state(conn: Connection, request_id: str, now: datetime, **values: Any) -> None:
    conn.execute(update(requests).where(requests.c.id == request_id).values(updated_at=now, **values))


def identifier_token(fields: Fields, request_id: str, kind: str, value: str) -> str:
    token = fields.encrypt(value, context=ID_CONTEXT, row=f"{request_id}:{kind}")
    assert token is not None
    return token


def add_identifier(fields: Fields, conn: Connection, request_id: str, kind: str, value: str, *, bidx: str,
                   origin: str, verified_at: datetime | None, now: datetime) -> None:
    ins = (pg_insert(identifiers) if conn.dialect.name == "postgresql" else sqlite_insert(identifiers)).values(
        request_id=request_id, kind=kind, value=identifier_token(fields, request_id, kind, value), bidx=bidx,
        origin=origin, verified_at=verified_at, created_at=now)
    conn.execute(ins.on_conflict_do_nothing(index_elements=["request_id", "kind"]))


def identifier_rows(conn: Connection, request_id: str) -> list[Any]:
    return list(conn.execute(select(identifiers).where(identifiers.c.request_id == request_id)
                             .order_by(identifiers.c.kind)).all())


def decrypt_identifier(fields: Fields, row: Any) -> str | None:
    if row.value is None:
        return None
    value = fields.decrypt(row.value, context=ID_CONTEXT, row=f"{row.request_id}:{row.kind}")
    return value if isinstance(value, str) else None


def subject_of(fields: Fields, conn: Connection, row: Any) -> Subject:
    """The request's verified identifiers only (unverified ones are never used)."""
    found: dict[str, str] = {}
    for ident in identifier_rows(conn, row.id):
        if ident.verified_at is not None and ident.kind in IDENTIFIERS:
            value = decrypt_identifier(fields, ident)
            if value is not None:
                found[ident.kind] = value
    return Subject(email=found.get("email"), phone=found.get("phone"), customer_id=found.get("customer_id"),
                   pseudonym=row.subject, request_id=row.id, order_ids=orders_of(fields, row))


def orders_of(fields: Fields, row: Any) -> tuple[str, ...]:
    """The order ids the platform named with the request (none once they were dropped)."""
    if row.orders is None:
        return ()
    value = fields.decrypt(row.orders, context=ORDERS_CONTEXT, row=row.id)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def orders_token(fields: Fields, request_id: str, orders: tuple[str, ...]) -> str | None:
    return fields.encrypt(list(orders), context=ORDERS_CONTEXT, row=request_id) if orders else None


def step_rows(conn: Connection, request_id: str) -> dict[str, Any]:
    return {r.source: r for r in conn.execute(select(steps).where(steps.c.request_id == request_id)).all()}


def save_step(conn: Connection, request_id: str, source: str, *, status: str, now: datetime,
              receipt: Mapping[str, Any] | None = None, error: str | None = None) -> None:
    values = {"status": status, "receipt": dict(receipt) if receipt is not None else None, "last_error": error,
              "updated_at": now}
    ins = (pg_insert(steps) if conn.dialect.name == "postgresql" else sqlite_insert(steps)).values(
        request_id=request_id, source=source, attempts=1, **values)
    conn.execute(ins.on_conflict_do_update(index_elements=["request_id", "source"],
                                           set_={**values, "attempts": steps.c.attempts + 1}))


def restart_steps(conn: Connection, request_id: str, now: datetime) -> int:
    """A newly verified identifier (or order ids) joined a started request: forget the finished and failed
    steps so the next run uses it too (sources are idempotent). A platform erasure already queued, accepted or
    done stays (re-queueing it would reuse its idempotency key); one that found no customer runs again."""
    done = [s for s in step_rows(conn, request_id).values() if s.status in ("done", "failed")]
    again = [s.source for s in done if not s.source.startswith("platform:") or s.status == "failed"
             or _held_nothing(s.receipt)]
    if again:
        conn.execute(delete(steps).where(steps.c.request_id == request_id, steps.c.source.in_(again)))
        set_state(conn, request_id, now, next_attempt_at=None)
    return len(again)


def _held_nothing(receipt: Any) -> bool:
    """True when a step's receipt says the source held nothing about the subject."""
    if not isinstance(receipt, Mapping):
        return True
    fields = receipt.get("fields") or []
    return all(isinstance(f, Mapping) and f.get("outcome") == "not_held" for f in fields)
