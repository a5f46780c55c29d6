"""The shop's own tables (SQLAlchemy Core) and its seed data. Personal data in them is ``sp.fields`` tokens; on
SQLite, ``make_engine`` turns ``secure_delete`` on and :func:`forget_deleted` empties the WAL after an erasure."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from shopprivacy.store.types import UTCDateTime

from ..shop_common.catalogue import PRODUCTS

metadata = MetaData()

products = Table(
    "shop_products", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price", String(24), nullable=False),  # decimal text, EUR
    Column("interval", String(10), nullable=True),  # "month" for a subscription product, else NULL
)

#: One row per account. ``email_bidx`` is the login key (HMAC blind index); ``email``, ``first_name``, ``phone``
#: and ``address`` are tokens bound to this table, their column and the row id, under the customer's own subject
#: key (``subject=id``), so erasing the customer crypto-shreds every copy, backups included.
customers = Table(
    "shop_customers", metadata,
    Column("id", String(40), primary_key=True),
    Column("email_bidx", String(64), nullable=True, unique=True),
    Column("email", Text, nullable=True),
    Column("first_name", Text, nullable=True),
    Column("phone", Text, nullable=True),
    Column("address", Text, nullable=True),
    Column("password_hash", String(300), nullable=True),
    Column("platform_customer_id", String(40), nullable=True),  # set once the customer buys a subscription
    Column("created_at", UTCDateTime, nullable=True),
)

def create_tables(engine: Engine) -> None:
    """Create the shop's tables and the product catalogue (idempotent)."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        known = set(conn.execute(select(products.c.id)).scalars())
        rows = [p for p in PRODUCTS if p["id"] not in known]
        if rows:
            conn.execute(insert(products), rows)


def forget_deleted(engine: Engine) -> None:
    """After an erasure on SQLite: copy the WAL into the database file (where ``secure_delete`` zeroed the
    deleted rows) and truncate it, so the old pages leave the ``-wal`` file too. Other databases: nothing (on
    PostgreSQL, VACUUM reclaims dead rows; the tokens in them are shredded already)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
