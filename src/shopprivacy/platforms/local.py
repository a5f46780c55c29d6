"""A small, real, SQLite- or PostgreSQL-backed reference shop implementing the adapter protocols.

It keeps its own tables (prefixed ``localshop_``) in ``platform_options["database_url"]`` or, by default,
the SDK's database. The demo and the core's tests use it in place of a hosted platform; it is not a mock:
it stores, pages and enforces idempotency keys the way a platform would.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, MetaData, String, Table, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, NotFoundError, PlatformError
from ..store.engine import make_engine
from ..store.types import UTCDateTime
from . import CustomerRef, ErasureCheck, ErasureReceipt, MarketingConsentUpdate, RectifyReceipt
from .local_subscriptions import LocalSubscriptionsMixin, declare_tables

if TYPE_CHECKING:
    from ..settings import Settings

local_metadata = MetaData()

customers = Table(
    "localshop_customers",
    local_metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", String(200), nullable=True),
    Column("last_name", String(200), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("marketing_state", String(20), nullable=False),  # subscribed | unsubscribed | not_subscribed
    Column("marketing_opt_in_level", String(20), nullable=True),
    Column("marketing_updated_at", UTCDateTime, nullable=True),
)

#: Idempotency keys of writes already applied, as a platform keeps them.
applied_writes = Table(
    "localshop_applied_writes",
    local_metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("operation", String(60), nullable=False),
    Column("result", String(200), nullable=True),
)

#: Portal fields the local shop can correct, and their columns.
_RECTIFY_COLUMNS = {"email": "email", "first_name": "first_name", "last_name": "last_name", "phone": "phone"}
#: Personal columns erasure empties, read back to verify it.
_ERASED_COLUMNS = {
    "subscriptions": ("email", "customer_name", "phone", "billing_address", "shipping_address", "notes",
                      "ip_address", "user_agent", "attribution"),
    "orders": ("ip_address", "user_agent", "attribution"),
}

#: Subscriptions and orders (see local_subscriptions.py).
subscriptions, orders = declare_tables(local_metadata)


class LocalShop(LocalSubscriptionsMixin):
    """Reference shop adapter (entry point name ``local``)."""

    name = "local"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.subscriptions, self.orders, self.applied_writes = subscriptions, orders, applied_writes
        self.bytes_received = 0
        local_metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> LocalShop:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    # -- shop side (what the shop's own code would do) -------------------------------------------------
    def add_customer(self, email: str, *, first_name: str | None = None, last_name: str | None = None,
                     phone: str | None = None) -> str:
        """Create a customer and return its id."""
        if "@" not in email:
            raise InvalidInput("a customer needs an e-mail address")
        cid = "c_" + secrets.token_hex(6)
        with self.engine.begin() as conn:
            conn.execute(insert(customers).values(id=cid, email=email.strip(), first_name=first_name,
                                                  last_name=last_name, phone=phone,
                                                  marketing_state="not_subscribed"))
        return cid

    def customer(self, customer_id: str) -> dict[str, object]:
        with self.engine.connect() as conn:
            row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
        if row is None:
            raise NotFoundError(f"local shop has no customer {customer_id!r}")
        return dict(row._mapping)

    # -- CustomerDirectory ------------------------------------------------------------------------------
    def find_customer(self, *, email: str | None = None, customer_id: str | None = None) -> CustomerRef | None:
        if email is None and customer_id is None:
            raise InvalidInput("find_customer needs an e-mail or a customer id")
        q = select(customers.c.id, customers.c.email)
        q = q.where(customers.c.id == customer_id) if customer_id else q.where(customers.c.email == email)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else CustomerRef(id=row.id, email=row.email)

    # -- MarketingConsentSink ---------------------------------------------------------------------------
    def set_marketing_consent(self, update_: MarketingConsentUpdate, *, idempotency_key: str) -> None:
        """Record the state with its consent time. A write older than the state held is refused (recorded
        as applied, changing nothing), so a late retry never overwrites a newer consent."""
        ref = self.find_customer(customer_id=update_.customer_id) if update_.customer_id else (
            self.find_customer(email=update_.email) if update_.email else None)
        with self.engine.begin() as conn:
            if conn.execute(select(applied_writes.c.idempotency_key)
                            .where(applied_writes.c.idempotency_key == idempotency_key)).first():
                return
            if ref is None:
                raise PlatformError("the local shop has no such customer", retryable=False)
            held = customers.c.marketing_updated_at
            changed = conn.execute(update(customers).where(
                customers.c.id == ref.id, or_(held.is_(None), held <= update_.consent_updated_at)).values(
                marketing_state="subscribed" if update_.subscribed else "unsubscribed",
                marketing_opt_in_level=update_.opt_in_level,
                marketing_updated_at=update_.consent_updated_at)).rowcount
            conn.execute(insert(applied_writes).values(idempotency_key=idempotency_key, operation="marketing_consent",
                                                       result=ref.id if changed else "older than the state held"))

    # -- PersonalDataHost -------------------------------------------------------------------------------
    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer with its subscriptions and orders, JSON-able; empty for an unknown id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
            if row is None:
                return {}
            subs = conn.execute(select(subscriptions).where(subscriptions.c.customer_ref == customer_id)
                                .order_by(subscriptions.c.subscription_id)).all()
            bought = conn.execute(select(orders).where(orders.c.customer_ref == customer_id)
                                  .order_by(orders.c.created_at, orders.c.id)).all()
        return {"customer": _plain(row._mapping), "subscriptions": [_plain(r._mapping) for r in subs],
                "orders": [_plain(r._mapping) for r in bought]}

    def erase_customer(self, customer_id: str, *, idempotency_key: str) -> ErasureReceipt:
        """Anonymise the customer and strip personal data from its subscriptions and orders; amounts and
        dates of orders are kept as bookkeeping records. The same idempotency key never applies twice."""
        receipt = ErasureReceipt(
            platform=self.name, customer_id=customer_id,
            erased=("customer.first_name", "customer.last_name", "customer.phone", "subscriptions.email",
                    "subscriptions.customer_name", "subscriptions.phone", "subscriptions.billing_address",
                    "subscriptions.shipping_address", "subscriptions.notes", "orders.ip_address",
                    "orders.user_agent", "orders.attribution", "subscriptions.ip_address",
                    "subscriptions.user_agent", "subscriptions.attribution"),
            anonymised=("customer.email",),
            retained={"orders.amount": "bookkeeping records (commercial and tax law)",
                      "orders.created_at": "bookkeeping records (commercial and tax law)"})
        with self.engine.begin() as conn:
            if conn.execute(select(applied_writes.c.idempotency_key)
                            .where(applied_writes.c.idempotency_key == idempotency_key)).first():
                return receipt
            found = conn.execute(update(customers).where(customers.c.id == customer_id).values(
                email=f"erased-{customer_id}@invalid", first_name=None, last_name=None, phone=None,
                marketing_state="unsubscribed")).rowcount
            conn.execute(update(subscriptions).where(subscriptions.c.customer_ref == customer_id).values(
                email=None, customer_name=None, phone=None, billing_address=None, shipping_address=None,
                notes=None, ip_address=None, user_agent=None, attribution=None))
            conn.execute(update(orders).where(orders.c.customer_ref == customer_id).values(
                ip_address=None, user_agent=None, attribution=None))
            conn.execute(insert(applied_writes).values(idempotency_key=idempotency_key, operation="erase_customer",
                                                       result=customer_id if found else "unknown"))
        return receipt if found else ErasureReceipt(platform=self.name, customer_id=customer_id)


    def rectify_customer(self, customer_id: str, changes: Mapping[str, str], *,
                         idempotency_key: str) -> RectifyReceipt:
        """Write the corrected e-mail, names and phone; the shop keeps no single-line name or address, so
        those are listed as corrected by hand. The same idempotency key never applies twice."""
        values = {_RECTIFY_COLUMNS[k]: v for k, v in changes.items() if k in _RECTIFY_COLUMNS}
        manual = {k: "the local shop keeps no such field" for k in changes if k not in _RECTIFY_COLUMNS}
        receipt = RectifyReceipt(platform=self.name, customer_id=customer_id, manual=manual,
                                 corrected={k: f"customer.{_RECTIFY_COLUMNS[k]}" for k in changes
                                            if k in _RECTIFY_COLUMNS})
        with self.engine.begin() as conn:
            if conn.execute(select(applied_writes.c.idempotency_key)
                            .where(applied_writes.c.idempotency_key == idempotency_key)).first():
                return receipt
            known = conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is not None
            try:
                if known and values:
                    conn.execute(update(customers).where(customers.c.id == customer_id).values(**values))
            except IntegrityError:
                raise PlatformError("another customer of the local shop has this e-mail address",
                                    retryable=False) from None
            conn.execute(insert(applied_writes).values(idempotency_key=idempotency_key, operation="rectify_customer",
                                                       result=customer_id if known else "unknown"))
        return receipt if known else RectifyReceipt(platform=self.name, customer_id=customer_id, found=False)

    def verify_erasure(self, customer_id: str) -> ErasureCheck:
        """Read the customer, its subscriptions and orders back: the names of the personal fields still set."""
        left: list[str] = []
        with self.engine.connect() as conn:
            row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
            if row is not None:
                left += [f"customer.{c}" for c in ("first_name", "last_name", "phone") if row._mapping[c]]
                if not str(row.email).startswith("erased-"):
                    left.append("customer.email")
            for table, name in ((subscriptions, "subscriptions"), (orders, "orders")):
                cols = [c for c in _ERASED_COLUMNS[name] if c in table.c]
                for held in conn.execute(select(*(table.c[c] for c in cols))
                                         .where(table.c.customer_ref == customer_id)).all():
                    left += [f"{name}.{c}" for c, v in zip(cols, held, strict=True) if v is not None]
        return ErasureCheck(platform=self.name, customer_id=customer_id, remaining=tuple(dict.fromkeys(left)),
                            retained={"orders.amount": "bookkeeping records (commercial and tax law)",
                                      "orders.created_at": "bookkeeping records (commercial and tax law)"}
                            if row is not None else {})

def _plain(row: Any) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


def create_adapter(settings: Settings) -> LocalShop:
    """Entry point factory: ``platform_options["database_url"]`` or the SDK's own database."""
    return LocalShop.from_url(str(settings.platform_options.get("database_url", settings.database_url)))
