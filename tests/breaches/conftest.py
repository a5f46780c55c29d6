from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

from shopprivacy import ShopPrivacy
from shopprivacy.rights import TableSource

shop_metadata = MetaData()
customers = Table(
    "shop_customers", shop_metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(400), nullable=True),  # sp.fields token under the customer's subject key
    Column("customer_key", String(40), nullable=True),
)


class Mailbox:
    """Breach notices the shop's sender received (or a failure to raise instead)."""

    def __init__(self):
        self.sent = []
        self.fail_with = None

    def __call__(self, notice):
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(notice)


@pytest.fixture
def shop_engine(db_url):
    engine = create_engine(db_url)
    shop_metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def mailbox():
    return Mailbox()


@pytest.fixture
def bsp(settings, store, clock, shop_engine, mailbox):
    """A facade with a hand-moved clock, the shop's customer table registered as a source, and a sender."""
    app = ShopPrivacy(settings, store=store, clock=clock)
    app.rights.register_source(TableSource(
        "shop_customers", shop_engine, customers, subject_column="email", fields=["email", "phone"],
        encrypted={"phone": "shop_customers.phone"}, subject_key_column="customer_key", cipher=app.fields))
    app.breaches.set_sender(mailbox)
    yield app
    app.close()


def add_customer(sp, engine, key, email, phone="+49 30 1234567"):
    token = sp.fields.encrypt(phone, context="shop_customers.phone", row=str(key), subject=f"cust-{key}")
    with engine.begin() as conn:
        conn.execute(insert(customers).values(id=key, email=email, phone=token, customer_key=f"cust-{key}"))


def register_address(sp, address):
    with sp.store.begin() as conn:
        subject, _ = sp.email.subjects.register(conn, address)
    return subject


def incident(clock, **changes):
    doc = {
        "controller": "Example Shop GmbH",
        "discovered_at": (clock.now - timedelta(hours=1)).isoformat(),
        "occurred_from": (clock.now - timedelta(days=2)).isoformat(),
        "occurred_until": (clock.now - timedelta(hours=2)).isoformat(),
        "nature": "A backup of the customer table was readable on a public URL.",
        "kinds": ["confidentiality"],
        "data_categories": ["e-mail addresses", "phone numbers"],
        "subject_categories": ["customers"],
        "approx_records": 3,
        "consequences": "Phishing mails that look like they come from us.",
        "measures": "The URL was removed and access keys were rotated.",
        "contact": "Data protection officer, dpo@shop.example, +49 30 000000",
        "scope": {"stores": ["shop_customers"]},
    }
    doc.update(changes)
    return doc
