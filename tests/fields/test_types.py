import logging

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from shopprivacy.errors import InvalidInput
from shopprivacy.fields import Redacted
from shopprivacy.fields.pydantic_types import Encrypted
from shopprivacy.fields.sqlalchemy_types import EncryptedString, RowBound, Sealed, decrypted


def _tables(sp):
    md = MetaData()
    plain = Table("shop_people", md, Column("id", Integer, primary_key=True),
                  Column("email", EncryptedString(lambda: sp.fields, context="shop_people.email")),
                  Column("address", EncryptedString(sp.fields, context="shop_people.address")))
    bound = Table("shop_bound", md, Column("id", Integer, primary_key=True),
                  Column("phone", EncryptedString(sp.fields, context="shop_bound.phone", row_bound=True)))
    md.create_all(sp.store.engine)
    return plain, bound


def test_column_bound_type_encrypts_on_bind_and_decrypts_on_result(sp):
    plain, _ = _tables(sp)
    with sp.store.begin() as conn:
        conn.execute(insert(plain).values(id=1, email="jane@example.com", address={"city": "Paris"}))
        conn.execute(insert(plain).values(id=2, email=None, address=None))
    with sp.store.begin(write=False) as conn:
        rows = conn.execute(select(plain).order_by(plain.c.id)).all()
        raw = conn.exec_driver_sql("SELECT email FROM shop_people WHERE id = 1").scalar()
    assert rows[0].email == "jane@example.com" and rows[0].address == {"city": "Paris"}
    assert rows[1].email is None
    assert raw.startswith("spf1.") and "jane" not in raw


def test_row_bound_type(sp):
    _, bound = _tables(sp)
    with sp.store.begin() as conn:
        conn.execute(insert(bound).values(id=7, phone=RowBound("+33612345678", row=7)))
        with pytest.raises(InvalidInput, match="RowBound"):
            conn.execute(insert(bound).values(id=8, phone="+33600000000"))
    with sp.store.begin(write=False) as conn:
        assert conn.execute(select(decrypted(bound.c.phone, row=bound.c.id))).scalar() == "+33612345678"
        sealed = conn.execute(select(bound.c.phone)).scalar()
    assert isinstance(sealed, Sealed) and "336" not in repr(sealed)
    assert sealed.open(sp.fields, 7) == "+33612345678"
    with pytest.raises(Exception, match="another column or row"):
        sealed.open(sp.fields, 8)


class Customer(BaseModel):
    id: int
    email: Encrypted("customers.email")


def test_pydantic_type_holds_redacted_and_serialises_to_tokens(sp, caplog):
    c = Customer(id=42, email="jane@example.com")
    assert isinstance(c.email, Redacted) and c.email.reveal() == "jane@example.com"
    assert "jane" not in repr(c) and "jane" not in str(c)
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("customer %s %r", c, c)
    assert "jane" not in caplog.text
    assert c.model_dump() == {"id": 42, "email": "<redacted>"}
    dumped = c.model_dump(context={"fields": sp.fields, "row": 42})
    assert dumped["email"].startswith("spf1.")
    back = Customer.model_validate(dumped, context={"fields": sp.fields, "row": 42})
    assert back.email.reveal() == "jane@example.com"
    with pytest.raises(ValidationError):
        Customer.model_validate(dumped)  # a token without keys is refused, never passed through
    with pytest.raises(ValidationError):
        Customer(id=1, email=123)


def test_redacted_wrapper():
    r = Redacted("secret-value")
    assert str(r) == repr(r).replace("Redacted(", "").rstrip(")") == "<redacted>"
    assert f"{r}" == "<redacted>" and f"{r!r}" == "Redacted(<redacted>)"
    assert r == Redacted("secret-value") and hash(r) == hash(Redacted("secret-value"))
