"""Subscriptions of the local reference shop: SubscriptionSource and RenewalOrderCleaner, offline.

Subscriptions and orders are stored the way a platform stores them, with the clutter renewal jobs tend
to copy (IP address, user agent, attribution, notes). ``iter_due_subscriptions`` selects only the
requested columns and pages with a keyset cursor on (next_billing_at, id); billing attempts are
idempotent by key; ``bytes_received`` counts the JSON size of what a caller fetched.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Engine

from ..errors import InvalidInput, NotFoundError, PlatformError
from ..store.types import UTCDateTime
from . import RENEWAL_FIELDS, BillingResult

_COLUMNS = ("subscription_id", "status", "customer_ref", "payment_ref", "amount", "currency", "lines",
            "interval", "next_billing_at", "shipping_address", "email")


def declare_tables(metadata: Any) -> tuple[Table, Table]:
    """The subscription and order tables of the local shop, on the local shop's metadata."""
    subs = Table(
        "localshop_subscriptions", metadata,
        Column("subscription_id", String(40), primary_key=True),
        Column("status", String(20), nullable=False),
        Column("customer_ref", String(40), nullable=False),
        Column("payment_ref", String(80), nullable=False),
        Column("amount", String(24), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("lines", JSON, nullable=False),
        Column("interval", JSON, nullable=False),
        Column("next_billing_at", UTCDateTime, nullable=False),
        Column("shipping_address", JSON, nullable=True),
        Column("email", String(320), nullable=True),
        # what a full platform object also carries, and a renewal must not copy:
        Column("customer_name", String(300), nullable=True),
        Column("phone", String(40), nullable=True),
        Column("billing_address", JSON, nullable=True),
        Column("ip_address", String(45), nullable=True),
        Column("user_agent", String(400), nullable=True),
        Column("attribution", JSON, nullable=True),
        Column("notes", Text, nullable=True),
        Column("cancelled_at", UTCDateTime, nullable=True),
        Index("ix_localshop_subscriptions_due", "status", "next_billing_at", "subscription_id"),
    )
    orders = Table(
        "localshop_orders", metadata,
        Column("id", String(40), primary_key=True),
        Column("subscription_id", String(40), nullable=True),
        Column("customer_ref", String(40), nullable=False),
        Column("amount", String(24), nullable=False),
        Column("currency", String(3), nullable=False),
        Column("period", String(40), nullable=True),
        Column("ip_address", String(45), nullable=True),
        Column("user_agent", String(400), nullable=True),
        Column("attribution", JSON, nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
    )
    return subs, orders


_raw_decode = json.JSONDecoder().raw_decode
_STEP = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


def next_period(at: datetime, interval: Mapping[str, Any]) -> datetime:
    """``at`` moved on by one billing interval (months and years by calendar, clamped to the month end)."""
    unit, count = interval["unit"], int(interval["count"])
    if unit in _STEP:
        return at + _STEP[unit] * count
    months = count * (12 if unit == "year" else 1)
    total = at.month - 1 + months
    year, month = at.year + total // 12, total % 12 + 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise InvalidInput("cannot compute the next billing date")  # pragma: no cover


def after_cursor(at: Any, key: Any, cursor: tuple[datetime, str]) -> tuple[Any, Any]:
    """Rows after ``cursor`` in (``at``, ``key``) order, in a form both SQLite and PostgreSQL seek by index.

    A row-value comparison ``(at, key) > (a, k)`` is what is meant; the redundant ``at >= a`` makes it a range
    on the index's ``at`` column for every planner (a bare ``at > a OR (at = a AND key > k)`` is not one, and
    each page would walk the index from its start again: quadratic paging).
    """
    return at >= cursor[0], tuple_(at, key) > tuple_(*cursor)


class LocalSubscriptionsMixin:
    """SubscriptionSource + RenewalOrderCleaner for :class:`~shopprivacy.platforms.local.LocalShop`."""

    engine: Engine
    subscriptions: Table
    orders: Table
    applied_writes: Table
    page_size: int = 500

    bytes_received: int = 0

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so concurrent writers wait, never fail)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sp_write=True)
            with conn.begin():
                yield conn

    # -- shop side --------------------------------------------------------------------------------------
    def add_subscription(self, *, customer_ref: str, amount: str, currency: str = "EUR",
                         lines: list[dict[str, Any]], interval: Mapping[str, Any],
                         next_billing_at: datetime, payment_ref: str | None = None,
                         shipping_address: Mapping[str, Any] | None = None, email: str | None = None,
                         extra: Mapping[str, Any] | None = None, status: str = "active",
                         conn: Connection | None = None) -> str:
        """Create a subscription (``extra`` fills the full-object columns) and return its id."""
        if next_billing_at.tzinfo is None:
            raise InvalidInput("next_billing_at needs a UTC offset")
        sid = "s_" + secrets.token_hex(8)
        values = dict(subscription_id=sid, status=status, customer_ref=customer_ref,
                      payment_ref=payment_ref or "pm_" + secrets.token_hex(6), amount=str(Decimal(amount)),
                      currency=currency, lines=lines, interval=dict(interval), next_billing_at=next_billing_at,
                      shipping_address=dict(shipping_address) if shipping_address else None, email=email,
                      **dict(extra or {}))
        if conn is not None:
            conn.execute(insert(self.subscriptions).values(**values))
        else:
            with self.engine.begin() as c:
                c.execute(insert(self.subscriptions).values(**values))
        return sid

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.subscriptions)
                               .where(self.subscriptions.c.subscription_id == subscription_id)).first()
        if row is None:
            raise NotFoundError(f"local shop has no subscription {subscription_id!r}")
        return dict(row._mapping)

    def order(self, order_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.orders).where(self.orders.c.id == order_id)).first()
        if row is None:
            raise NotFoundError(f"local shop has no order {order_id!r}")
        return dict(row._mapping)

    def orders_of(self, subscription_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.orders).where(self.orders.c.subscription_id == subscription_id)
                                .order_by(self.orders.c.created_at)).all()
        return [dict(r._mapping) for r in rows]

    # -- SubscriptionSource ---------------------------------------------------------------------------
    def _page_query(self, due_before: datetime, columns: list[Any], cursor: tuple[datetime, str] | None) -> Any:
        """One page of ``columns`` of due subscriptions after ``cursor``: a seek on
        ``ix_localshop_subscriptions_due``."""
        t = self.subscriptions
        q = (select(*columns)
             .where(t.c.status == "active", t.c.next_billing_at < due_before)
             .order_by(t.c.next_billing_at, t.c.subscription_id).limit(self.page_size))
        if cursor is not None:
            q = q.where(*after_cursor(t.c.next_billing_at, t.c.subscription_id, cursor))
        return q

    def _iter_rows(self, due_before: datetime, columns: list[Any], *,
                   iso_times: bool = False) -> Iterator[dict[str, Any]]:
        """The rows of ``columns`` due before ``due_before``, page by page, as dicts (``iso_times``: date-times
        as ISO 8601 text, as a platform's API sends them).

        JSON columns are read as their stored text and decoded here (what SQLAlchemy's JSON type does, without
        its per-value layers); that text is also what their bytes are counted from.
        """
        names = [c.name for c in columns]
        documents = [c.name for c in columns if isinstance(c.type, JSON)]
        scalars = [name for name in names if name not in documents]
        times = [c.name for c in columns if iso_times and isinstance(c.type, UTCDateTime)]
        selected: list[Any] = [cast(c, Text).label(c.name) if c.name in documents else c for c in columns]
        # the keyset cursor: the row's due time and id, selected once
        t = self.subscriptions
        for name in ("next_billing_at", "subscription_id"):
            if name not in names:
                selected.append(t.c[name].label("_" + name))
        at = names.index("next_billing_at") if "next_billing_at" in names else len(columns)
        key = names.index("subscription_id") if "subscription_id" in names else len(selected) - 1
        # per object: "{" + '"name": ' per key + ", " between them + "}", around the values' JSON
        frame = 2 + sum(len(json.dumps(name)) + 2 for name in names) + 2 * max(len(names) - 1, 0)
        cursor: tuple[datetime, str] | None = None
        while True:
            q = self._page_query(due_before, selected, cursor)
            with self.engine.connect() as conn:
                page = conn.execute(q).all()
            items = [dict(zip(names, row, strict=False)) for row in page]  # a row may end with the cursor's
            for name in times:
                for item in items:
                    if item[name] is not None:
                        item[name] = item[name].isoformat()
            # the scalars' JSON in one call: "[" + ", ".join(values) + "]"
            flat = [item[name] for item in items for name in scalars]
            size = len(json.dumps(flat, default=str)) - 2 * max(len(flat), 1) + frame * len(items)
            for name in documents:
                for item in items:
                    text = item[name]
                    if text is None:
                        size += 4  # null
                        continue
                    size += len(text)
                    try:
                        value, end = _raw_decode(text)
                    except ValueError:
                        end = -1
                    # anything but one document filling the text (surrounding spaces, errors): json.loads decides
                    item[name] = value if end == len(text) else json.loads(text)
            self.bytes_received += size
            yield from items
            if len(page) < self.page_size:
                return
            cursor = (page[-1][at], page[-1][key])

    def iter_due_subscriptions(self, *, due_before: datetime,
                               fields: Collection[str]) -> Iterator[Mapping[str, Any]]:
        unknown = set(fields) - RENEWAL_FIELDS
        if unknown:
            raise InvalidInput(f"not renewal fields: {', '.join(sorted(unknown)[:5])}")
        t = self.subscriptions
        columns = [t.c[name] for name in _COLUMNS if name in fields]
        yield from self._iter_rows(due_before, columns, iso_times=True)

    def iter_due_full_objects(self, *, due_before: datetime) -> Iterator[Mapping[str, Any]]:
        """The same subscriptions as whole platform objects (what an unminimised renewal job reads)."""
        yield from self._iter_rows(due_before, list(self.subscriptions.c))

    def create_billing_attempt(self, subscription_id: str, *, idempotency_key: str,
                               origin_time: datetime) -> BillingResult:
        t, aw = self.subscriptions, self.applied_writes
        with self._write() as conn:
            done = conn.execute(select(aw.c.result).where(aw.c.idempotency_key == idempotency_key)).first()
            if done is not None:
                return BillingResult(attempt_id=idempotency_key, status="ready", order_id=done.result)
            sub = conn.execute(select(t).where(t.c.subscription_id == subscription_id)).first()
            if sub is None:
                raise PlatformError(f"no subscription {subscription_id!r}", retryable=False)
            if sub.status != "active":
                return BillingResult(attempt_id=idempotency_key, status="failed", error_code="not_active")
            order_id = "o_" + secrets.token_hex(8)
            conn.execute(insert(self.orders).values(
                id=order_id, subscription_id=subscription_id, customer_ref=sub.customer_ref, amount=sub.amount,
                currency=sub.currency, period=sub.next_billing_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                ip_address=sub.ip_address, user_agent=sub.user_agent, attribution=sub.attribution,
                created_at=origin_time.astimezone(timezone.utc)))
            conn.execute(update(t).where(t.c.subscription_id == subscription_id)
                         .values(next_billing_at=next_period(sub.next_billing_at, sub.interval)))
            conn.execute(insert(aw).values(idempotency_key=idempotency_key, operation="billing_attempt",
                                           result=order_id))
        return BillingResult(attempt_id=idempotency_key, status="ready", order_id=order_id)

    def billing_count(self) -> int:
        """How many billing attempts the shop applied (each idempotency key once)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.applied_writes)
                                    .where(self.applied_writes.c.operation == "billing_attempt")).scalar_one())

    # -- RenewalOrderCleaner ----------------------------------------------------------------------------
    def clean_renewal_order(self, order_id: str) -> tuple[str, ...]:
        o = self.orders
        with self._write() as conn:
            row = conn.execute(select(o.c.ip_address, o.c.user_agent, o.c.attribution)
                               .where(o.c.id == order_id)).first()
            if row is None:
                raise PlatformError(f"no order {order_id!r}", retryable=False)
            cleaned = tuple(name for name in ("ip_address", "user_agent", "attribution")
                            if getattr(row, name) is not None)
            if cleaned:
                conn.execute(update(o).where(o.c.id == order_id).values(ip_address=None, user_agent=None,
                                                                        attribution=None))
        return cleaned

    # -- PlatformRetention (shopprivacy.retention.platform) -------------------------------------------
    def _retention_table(self, kind: str) -> tuple[Table, Any]:
        if kind == "orders":
            return self.orders, self.orders.c.id
        if kind == "subscriptions":
            return self.subscriptions, self.subscriptions.c.subscription_id
        raise InvalidInput(f"the local shop has no object kind {kind[:40]!r}")

    def retention_kinds(self) -> Mapping[str, Collection[str]]:
        return {"orders": ("created_at", "ip_address", "user_agent", "attribution"),
                "subscriptions": ("cancelled_at", "email", "customer_name", "phone", "billing_address",
                                  "shipping_address", "ip_address", "user_agent", "attribution", "notes")}

    def _retention_cond(self, kind: str, anchor: str, before: datetime, action: str,
                        fields: Collection[str]) -> tuple[Table, Any, Any]:
        table, key = self._retention_table(kind)
        allowed = set(self.retention_kinds()[kind])
        if anchor not in allowed or not set(fields) <= allowed:
            raise InvalidInput("unknown field for retention")
        cond = table.c[anchor] < before
        if action in ("redact", "anonymise"):
            cond = and_(cond, or_(*(table.c[f].is_not(None) for f in fields)))
        return table, key, cond

    def retention_scan(self, kind: str, *, anchor: str, before: datetime, after: str | None, limit: int,
                       action: str, fields: Sequence[str]) -> list[str]:
        _, key, cond = self._retention_cond(kind, anchor, before, action, fields)
        q = select(key).where(cond).order_by(key).limit(limit)
        if after is not None:
            q = q.where(key > after)
        with self.engine.connect() as conn:
            return [str(k) for k in conn.execute(q).scalars()]

    def retention_apply(self, kind: str, ids: Sequence[str], *, before: datetime, anchor: str, action: str,
                        fields: Sequence[str], replace: Mapping[str, Any]) -> int:
        table, key, cond = self._retention_cond(kind, anchor, before, action, fields)
        with self._write() as conn:
            if action == "delete":
                return int(conn.execute(delete(table).where(key.in_(ids), cond)).rowcount)
            if action in ("redact", "anonymise"):
                values = {f: (replace.get(f) if action == "anonymise" else None) for f in fields}
                return int(conn.execute(update(table).where(key.in_(ids), cond).values(values)).rowcount)
        raise InvalidInput(f"the local shop cannot {action[:20]!r} objects")


__all__ = ["LocalSubscriptionsMixin", "declare_tables", "next_period"]
