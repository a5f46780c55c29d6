"""The durable writes of e-mail consent: subjects, states, suppressions and proof, in the caller's
transaction, so an opt-out and its proof, audit entry and outbox row commit together or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .tables import consent_events, email_subjects, subscriptions, suppressions


@dataclass(frozen=True)
class Meta:
    """Where a change came from. IP address and user agent are kept only as keyed hashes."""

    source: str = "web"
    ip_hash: str | None = None
    ua_hash: str | None = None
    text_version: str | None = None


def _upsert(conn: Connection, table: Any, values: Mapping[str, Any], keys: list[str],
            update_cols: Mapping[str, Any] | None) -> None:
    ins = (pg_insert(table) if conn.dialect.name == "postgresql" else sqlite_insert(table)).values(**values)
    if update_cols:
        conn.execute(ins.on_conflict_do_update(index_elements=keys, set_=dict(update_cols)))
    else:
        conn.execute(ins.on_conflict_do_nothing(index_elements=keys))


def ensure_subject(conn: Connection, *, subject: str, bidx: str, address_token: str | None,
                   customer_ref: str | None, now: datetime) -> None:
    _upsert(conn, email_subjects, {"subject": subject, "address_bidx": bidx, "address": address_token,
                                   "customer_ref": customer_ref, "created_at": now}, ["subject"], None)
    if customer_ref is not None:
        conn.execute(update(email_subjects).where(email_subjects.c.subject == subject)
                     .values(customer_ref=customer_ref))


def subject_row(conn: Connection, subject: str) -> Any:
    return conn.execute(select(email_subjects).where(email_subjects.c.subject == subject)).first()


def set_state(conn: Connection, *, subject: str, list_id: str, state: str, level: str, now: datetime,
              paused_until: datetime | None = None) -> bool:
    """Set the subscription state in one statement; False when it already was that state (nothing written)."""
    ins = (pg_insert(subscriptions) if conn.dialect.name == "postgresql" else sqlite_insert(subscriptions)).values(
        subject=subject, list_id=list_id, state=state, opt_in_level=level, paused_until=paused_until, updated_at=now)
    differs = (subscriptions.c.state != ins.excluded.state) | subscriptions.c.paused_until.is_distinct_from(
        ins.excluded.paused_until)
    stmt = ins.on_conflict_do_update(
        index_elements=["subject", "list_id"], where=differs,
        set_={"state": ins.excluded.state, "opt_in_level": ins.excluded.opt_in_level,
              "paused_until": ins.excluded.paused_until, "updated_at": ins.excluded.updated_at})
    return conn.execute(stmt.returning(subscriptions.c.state)).first() is not None


def states(conn: Connection, subject: str) -> dict[str, Any]:
    rows = conn.execute(select(subscriptions).where(subscriptions.c.subject == subject)).all()
    return {r.list_id: r for r in rows}


def suppress(conn: Connection, *, bidx: str, list_id: str, reason: str, now: datetime) -> bool:
    """Add a suppression; False when it was already there."""
    ins = (pg_insert(suppressions) if conn.dialect.name == "postgresql" else sqlite_insert(suppressions)).values(
        address_bidx=bidx, list_id=list_id, reason=reason, created_at=now)
    stmt = ins.on_conflict_do_nothing(index_elements=["address_bidx", "list_id"]).returning(suppressions.c.list_id)
    return conn.execute(stmt).first() is not None


def unsuppress(conn: Connection, *, bidx: str, list_id: str) -> None:
    conn.execute(delete(suppressions).where(suppressions.c.address_bidx == bidx, suppressions.c.list_id == list_id))


def is_suppressed(conn: Connection, bidx: str, list_id: str | None) -> bool:
    lists = ["*"] if list_id is None else ["*", list_id]
    q = select(suppressions.c.list_id).where(suppressions.c.address_bidx == bidx, suppressions.c.list_id.in_(lists))
    return conn.execute(q.limit(1)).first() is not None


_INSERT_EVENT = insert(consent_events)


def prove(conn: Connection, *, subject: str, bidx: str, list_id: str, action: str, meta: Meta,
          now: datetime) -> None:
    conn.execute(_INSERT_EVENT, {"subject": subject, "address_bidx": bidx, "list_id": list_id, "action": action,
                                 "text_version": meta.text_version, "source": meta.source[:120],
                                 "ip_hash": meta.ip_hash, "ua_hash": meta.ua_hash, "at": now})


def history(conn: Connection, bidx: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(consent_events).where(consent_events.c.address_bidx == bidx)
                        .order_by(consent_events.c.at, consent_events.c.id)).all()
    return [{"at": r.at.isoformat(), "list": r.list_id, "action": r.action, "text_version": r.text_version,
             "source": r.source, "ip_hash": r.ip_hash, "user_agent_hash": r.ua_hash} for r in rows]
