from datetime import datetime, timezone

import pytest
from sqlalchemy import Column, DateTime, MetaData, Numeric, String, Table, create_engine, insert

from shopprivacy import ShopPrivacy
from shopprivacy.rights import Retain, TableSource
from shopprivacy.rights.settings import RightsSettings

shop_metadata = MetaData()
orders = Table(
    "shop_orders", shop_metadata,
    Column("id", String(20), primary_key=True),
    Column("email", String(320), nullable=True),
    Column("name", String(200), nullable=True),
    Column("address", String(400), nullable=True),
    Column("phone_token", String(400), nullable=True),  # sp.fields token under the customer's subject key
    Column("customer_key", String(40), nullable=True),
    Column("total", Numeric(10, 2), nullable=False),
    Column("placed_at", DateTime, nullable=False),
)


class Outbox:
    """Notices the shop's sender received."""

    def __init__(self):
        self.sent = []

    def __call__(self, notice):
        self.sent.append(notice)

    def of(self, kind, request_id=None):
        return [n for n in self.sent if n.kind == kind and (request_id is None or n.request.id == request_id)]

    def link(self, kind, request_id=None):
        return self.of(kind, request_id)[-1].link


@pytest.fixture
def shop_engine(db_url):
    engine = create_engine(db_url)
    shop_metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def mailbox():
    return Outbox()


@pytest.fixture
def rsp(settings, store, clock, db_url, mailbox):
    """A facade with the local reference shop in the same database, a hand-moved clock and a sender."""
    s = settings.model_copy(update={"platform_options": {"database_url": db_url},
                                    "rights": RightsSettings(operator_email="dpo@shop.example")})
    app = ShopPrivacy(s, store=store, clock=clock)
    app.rights.set_sender(mailbox)
    yield app
    app.close()


def add_orders(engine, sp, email, n, *, start=0, customer_key="c_1"):
    rows = []
    for i in range(start, start + n):
        oid = f"o{i}"
        rows.append({"id": oid, "email": email, "name": "Jane Doe", "address": "1 Rue de la Paix, Paris",
                     "phone_token": sp.fields.encrypt("+33612345678", context="shop_orders.phone_token", row=oid,
                                                      subject=customer_key),
                     "customer_key": customer_key, "total": "19.90",
                     "placed_at": datetime(2026, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None)})
    with engine.begin() as conn:
        conn.execute(insert(orders), rows)


def orders_source(engine, sp):
    return TableSource("orders", engine, orders, subject_column="email",
                       fields=("email", "name", "address", "phone_token", "total", "placed_at"),
                       actions={"total": Retain("invoice: commercial and tax law, 10 years"),
                                "placed_at": Retain("invoice: commercial and tax law, 10 years"),
                                "name": "anonymise"},
                       rectify={"email": "email", "name": "name"},
                       encrypted={"phone_token": "shop_orders.phone_token"}, subject_key_column="customer_key",
                       cipher=sp.fields)


def verify_all(sp, mailbox, request_id):
    from shopprivacy.web import Request
    sp.outbox.deliver_due()
    for notice in mailbox.of("verify", request_id):
        token = notice.link.split("?t=", 1)[1]
        resp = sp.rights_web.verify(Request("POST", "/privacy/rights/verify", query={"t": token}))
        assert resp.status == 200, resp.body


def confirm_new(sp, mailbox, request_id):
    """Follow the links sent to the new e-mail address or phone of a correction (POST, as the button does)."""
    from shopprivacy.web import Request
    sp.outbox.deliver_due()
    notices = mailbox.of("verify_new", request_id)
    assert notices, "no link was sent to a new address"
    for notice in notices:
        token = notice.link.split("?t=", 1)[1]
        resp = sp.rights_web.verify_new(Request("POST", "/privacy/rights/verify-new", query={"t": token}))
        assert resp.status == 200, resp.body
