"""The durable writes of e-mail consent: subjects, states, suppressions and proof, in the caller's
transaction, so an opt-out and its proof, audit entry and outbox row commit together or not at all.

The same writes serve every consent channel whose tables have the e-mail tables' shape
(:class:`ConsentTables`): ``sp.sms`` passes its own with ``tables=``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..store import proof
from .tables import consent_events, email_subjects, subscriptions, suppressions

if TYPE_CHECKING:
    from ..store.audit import AuditLog


@dataclass(frozen=True)
class ConsentTables:
    """The four tables of one consent channel, with the columns of the e-mail ones: subjects (``subject``,
    ``address_bidx``, ``address``, ``customer_ref``, ``created_at``), subscriptions, suppressions and proof."""

    name: str
    subjects: Table
    subscriptions: Table
    suppressions: Table
    events: Table


#: The e-mail channel's tables.
EMAIL = ConsentTables("email", email_subjects, subscriptions, suppressions, consent_events)


@dataclass(frozen=True)
class Meta:
    """Where a change came from. IP address and user agent are kept only as keyed hashes."""

    source: str = "web"
    ip_hash: str | None = None
    ua_hash: str | None = None
    text_version: str | None = None


@dataclass(frozen=True)
class Change:
    """The outcome of an unsubscribe, confirmation or preference change."""

    subject: str
    list_id: str
    changed: bool  # False when the state already was what was asked (idempotent repeat)


class Dialect(Protocol):
    """What :func:`statements` needs of a connection: its dialect's name."""

    @property
    def dialect(self) -> Any: ...


@dataclass(frozen=True)
class _Statements:
    """The statements of the hot paths, built once per dialect and executed with parameters: building an
    upsert anew costs ten times as much as running it on SQLite."""

    add_subject: Any
    set_customer: Any
    subject_row: Any
    set_state: Any
    states: Any
    suppress: Any
    unsuppress: Any
    suppressed_all: Any
    suppressed_list: Any
    insert_event: Any
    history: Any
    # set-based forms of the above, for many rows in one statement (grouped opt-outs)
    subject_rows: Any
    set_states: Any
    suppress_many: Any
    insert_events: Any


def _build(dialect: str, t: ConsentTables) -> _Statements:
    def ins(table: Any) -> Any:
        return pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)

    subscriptions, suppressions, subjects, events = t.subscriptions, t.suppressions, t.subjects, t.events
    upsert = ins(subscriptions)
    differs = (subscriptions.c.state != upsert.excluded.state) | subscriptions.c.paused_until.is_distinct_from(
        upsert.excluded.paused_until)
    set_state = upsert.on_conflict_do_update(
        index_elements=["subject", "list_id"], where=differs,
        set_={"state": upsert.excluded.state, "opt_in_level": upsert.excluded.opt_in_level,
              "paused_until": upsert.excluded.paused_until, "updated_at": upsert.excluded.updated_at},
    )
    bidx, lid = suppressions.c.address_bidx, suppressions.c.list_id
    return _Statements(
        add_subject=ins(subjects).on_conflict_do_nothing(index_elements=["subject"]),
        set_customer=update(subjects).where(subjects.c.subject == bindparam("s"))
        .values(customer_ref=bindparam("ref")),
        subject_row=select(subjects).where(subjects.c.subject == bindparam("s")),
        set_state=set_state.returning(subscriptions.c.state),
        states=select(subscriptions).where(subscriptions.c.subject == bindparam("s")),
        suppress=ins(suppressions).on_conflict_do_nothing(index_elements=["address_bidx", "list_id"])
        .returning(lid),
        unsuppress=delete(suppressions).where(bidx == bindparam("b"), lid == bindparam("l")),
        suppressed_all=select(lid).where(bidx == bindparam("b"), lid == "*").limit(1),
        suppressed_list=select(lid).where(bidx == bindparam("b"), or_(lid == "*", lid == bindparam("l"))).limit(1),
        insert_event=proof.insert_returning(events),
        history=select(events).where(events.c.address_bidx == bindparam("b")).order_by(events.c.at, events.c.id),
        subject_rows=select(subjects).where(subjects.c.subject.in_(bindparam("s", expanding=True))),
        set_states=set_state.returning(subscriptions.c.subject, subscriptions.c.list_id),
        suppress_many=ins(suppressions).on_conflict_do_nothing(index_elements=["address_bidx", "list_id"])
        .returning(bidx, lid),
        insert_events=insert(events).returning(*events.c, sort_by_parameter_order=True),
    )


_BUILT: dict[tuple[str, str], _Statements] = {}


def statements(conn: Dialect, tables: ConsentTables = EMAIL) -> _Statements:
    """The prepared statements for ``conn``'s dialect and the channel's ``tables``."""
    key = (str(conn.dialect.name), tables.name)
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = _build(key[0], tables)
    return found


def ensure_subject(conn: Connection, *, subject: str, bidx: str, address_token: str | None,
                   customer_ref: str | None, now: datetime, tables: ConsentTables = EMAIL) -> None:
    st = statements(conn, tables)
    conn.execute(st.add_subject, {"subject": subject, "address_bidx": bidx, "address": address_token,
                                  "customer_ref": customer_ref, "created_at": now})
    if customer_ref is not None:
        conn.execute(st.set_customer, {"s": subject, "ref": customer_ref})


def subject_row(conn: Connection, subject: str, tables: ConsentTables = EMAIL) -> Any:
    return conn.execute(statements(conn, tables).subject_row, {"s": subject}).first()


def set_state(conn: Connection, *, subject: str, list_id: str, state: str, level: str, now: datetime,
              paused_until: datetime | None = None, tables: ConsentTables = EMAIL) -> bool:
    """Set the subscription state in one statement; False when it already was that state (nothing written)."""
    return conn.execute(statements(conn, tables).set_state, {
        "subject": subject, "list_id": list_id, "state": state, "opt_in_level": level,
        "paused_until": paused_until, "updated_at": now}).first() is not None


def effective_state(row: Any, now: datetime) -> str:
    """The state of one ``sp_email_subscriptions`` row (or ``None``): a pause that has ended reads as subscribed."""
    if row is None:
        return "not_subscribed"
    if row.state == "paused" and row.paused_until is not None and row.paused_until <= now:
        return "subscribed"
    return str(row.state)


def states(conn: Connection, subject: str, tables: ConsentTables = EMAIL) -> dict[str, Any]:
    rows = conn.execute(statements(conn, tables).states, {"s": subject}).all()
    return {r.list_id: r for r in rows}


def suppress(conn: Connection, *, bidx: str, list_id: str, reason: str, now: datetime,
             tables: ConsentTables = EMAIL) -> bool:
    """Add a suppression; False when it was already there."""
    return conn.execute(statements(conn, tables).suppress, {"address_bidx": bidx, "list_id": list_id, "reason": reason,
                                                    "created_at": now}).first() is not None


def unsuppress(conn: Connection, *, bidx: str, list_id: str, tables: ConsentTables = EMAIL) -> None:
    conn.execute(statements(conn, tables).unsuppress, {"b": bidx, "l": list_id})


def is_suppressed(conn: Connection, bidx: str, list_id: str | None, tables: ConsentTables = EMAIL) -> bool:
    st = statements(conn, tables)
    if list_id is None:
        return conn.execute(st.suppressed_all, {"b": bidx}).first() is not None
    return conn.execute(st.suppressed_list, {"b": bidx, "l": list_id}).first() is not None


def prove(conn: Connection, *, subject: str, bidx: str, list_id: str, action: str, meta: Meta,
          now: datetime, audit: AuditLog, tables: ConsentTables = EMAIL) -> None:
    """Append a proof event and stage the audit entry holding its digest (``shopprivacy.store.proof``): it is
    written last in the transaction, with the other staged entries."""
    row = conn.execute(statements(conn, tables).insert_event, {
        "subject": subject, "address_bidx": bidx, "list_id": list_id, "action": action,
        "text_version": meta.text_version, "source": meta.source[:120], "ip_hash": meta.ip_hash,
        "ua_hash": meta.ua_hash, "at": now}).mappings().one()
    proof.cover_row(conn, audit, tables.events, row, actor=meta.source, subject=subject)


def subject_rows(conn: Connection, subjects: list[str], tables: ConsentTables = EMAIL) -> dict[str, Any]:
    """The rows of ``subjects`` that exist, by subject, in one statement."""
    wanted = sorted(set(subjects))
    if len(wanted) == 1:  # the plain statement: an expanding IN is rendered again on every execution
        row = subject_row(conn, wanted[0], tables)
        return {} if row is None else {row.subject: row}
    rows = conn.execute(statements(conn, tables).subject_rows, {"s": wanted}).all()
    return {r.subject: r for r in rows}


def set_states(conn: Connection, changes: list[tuple[str, str, datetime]], *, state: str, level: str,
               tables: ConsentTables = EMAIL) -> set[tuple[str, str]]:
    """:func:`set_state` for distinct (subject, list id, time) changes in one statement; returns the pairs that
    changed."""
    if not changes:
        return set()
    rows = conn.execute(statements(conn, tables).set_states, [
        {"subject": s, "list_id": lid, "state": state, "opt_in_level": level, "paused_until": None, "updated_at": at}
        for s, lid, at in changes]).all()
    return {(r.subject, r.list_id) for r in rows}


def suppress_many(conn: Connection, entries: list[tuple[str, str, str, datetime]],
                  tables: ConsentTables = EMAIL) -> set[tuple[str, str]]:
    """:func:`suppress` for distinct (blind index, list id, reason, time) entries in one statement; returns the
    (blind index, list id) pairs that were new."""
    if not entries:
        return set()
    rows = conn.execute(statements(conn, tables).suppress_many, [
        {"address_bidx": b, "list_id": lid, "reason": reason, "created_at": at} for b, lid, reason, at in entries
    ]).all()
    return {(r.address_bidx, r.list_id) for r in rows}


def prove_many(conn: Connection, events: list[tuple[str, str, str, str, Meta, datetime]], *, audit: AuditLog,
               tables: ConsentTables = EMAIL) -> None:
    """:func:`prove` for several (subject, blind index, list id, action, meta, time) events in one statement."""
    if not events:
        return
    st = statements(conn, tables)
    rows = conn.execute(st.insert_events if len(events) > 1 else st.insert_event, [
        {"subject": s, "address_bidx": b, "list_id": lid, "action": action, "text_version": meta.text_version,
         "source": meta.source[:120], "ip_hash": meta.ip_hash, "ua_hash": meta.ua_hash, "at": at}
        for s, b, lid, action, meta, at in events]).mappings().all()
    for row, (subject, _, _, _, meta, _) in zip(rows, events, strict=True):
        proof.cover_row(conn, audit, tables.events, row, actor=meta.source, subject=subject)


def history(conn: Connection, bidx: str, tables: ConsentTables = EMAIL) -> list[dict[str, Any]]:
    rows = conn.execute(statements(conn, tables).history, {"b": bidx}).all()
    return [{"at": r.at.isoformat(), "list": r.list_id, "action": r.action, "text_version": r.text_version,
             "source": r.source, "ip_hash": r.ip_hash, "user_agent_hash": r.ua_hash} for r in rows]
