"""Customer accounts: e-mail, phone and address encrypted with ``sp.fields``, login by the e-mail's blind
index, passwords hashed by werkzeug (scrypt). The account table is also a rights source (export, erasure)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from shopprivacy import ShopPrivacy
from shopprivacy.errors import ConflictError, InvalidInput
from shopprivacy.rights import TableSource

from .db import customers

#: ``sp.fields`` contexts of the encrypted columns ("table.column"): a token copied elsewhere won't decrypt.
ENCRYPTED = {"email": "shop_customers.email", "phone": "shop_customers.phone", "address": "shop_customers.address"}
#: A hash to compare against when no account matches, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Customer:
    """A decrypted account, for the signed-in customer's own pages. Never log it."""

    id: str
    email: str = field(repr=False)
    first_name: str | None = field(repr=False)
    phone: str | None = field(repr=False)
    address: str | None = field(repr=False)
    platform_customer_id: str | None = None


class Accounts:
    """The shop's customer accounts on ``engine``, encrypted with ``sp``."""

    def __init__(self, sp: ShopPrivacy, engine: Engine) -> None:
        self.sp, self.engine = sp, engine

    def _bidx(self, email: str) -> str:
        return self.sp.fields.blind_index(email, kind="email")

    def _enc(self, column: str, value: str | None, cid: str) -> str | None:
        if value is None or not value.strip():
            return None
        return self.sp.fields.encrypt(value.strip(), context=ENCRYPTED[column], row=cid, subject=cid)

    def sign_up(self, email: str, password: str, *, first_name: str = "", phone: str = "",
                address: str = "") -> str:
        """Create an account and return its id. InvalidInput for a bad address or a short password,
        ConflictError when the address already has an account."""
        email = email.strip()
        local, _, domain = email.partition("@")
        if not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
            raise InvalidInput("please give a valid e-mail address")
        if not 8 <= len(password) <= 200:
            raise InvalidInput("the password needs 8 to 200 characters")
        for name, value, limit in (("name", first_name, 200), ("phone", phone, 40), ("address", address, 500)):
            if len(value) > limit:
                raise InvalidInput(f"the {name} is too long")
        cid = "cu_" + secrets.token_hex(8)
        row: dict[str, Any] = {
            "id": cid, "email_bidx": self._bidx(email), "email": self._enc("email", email, cid),
            "first_name": first_name.strip() or None, "phone": self._enc("phone", phone, cid),
            "address": self._enc("address", address, cid), "password_hash": generate_password_hash(password),
            "created_at": self.sp.clock()}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(customers).values(row))
        except IntegrityError:
            self.sp.fields.shred(cid, actor="shop")  # the key made for the tokens above is not needed
            raise ConflictError("an account with this e-mail address exists; please log in") from None
        return cid

    def authenticate(self, email: str, password: str) -> str | None:
        """The account id when ``password`` matches the account found by the e-mail's blind index."""
        if not email.strip() or len(password) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(customers.c.id, customers.c.password_hash)
                               .where(customers.c.email_bidx == self._bidx(email))).first()
        if row is None or row.password_hash is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return str(row.id) if check_password_hash(row.password_hash, password) else None

    def get(self, cid: str) -> Customer | None:
        """The decrypted account, or None when it does not exist (any more)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(customers).where(customers.c.id == cid)).first()
        if row is None or row.email is None:
            return None
        dec = self.sp.fields.decrypt
        return Customer(id=cid, email=str(dec(row.email, context=ENCRYPTED["email"], row=cid)),
                        first_name=row.first_name,
                        phone=dec(row.phone, context=ENCRYPTED["phone"], row=cid) if row.phone else None,
                        address=dec(row.address, context=ENCRYPTED["address"], row=cid) if row.address else None,
                        platform_customer_id=row.platform_customer_id)

    def ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(i) for i in conn.execute(select(customers.c.id).where(customers.c.email.is_not(None))
                                                 .order_by(customers.c.created_at, customers.c.id)).scalars()]

    def link_platform(self, cid: str, platform_customer_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(customers).where(customers.c.id == cid)
                         .values(platform_customer_id=platform_customer_id))

    def rights_source(self) -> TableSource:
        """The account table as a rights source: found by the e-mail's blind index, exported decrypted,
        erased by crypto-shredding the customer's key and deleting the row."""
        return TableSource(
            "shop_customers", self.engine, customers, subject_column="email_bidx", match="email",
            blind_indexed=True, key_column="id",
            fields=("email", "first_name", "phone", "address", "platform_customer_id", "created_at"),
            delete_rows=True, rectify={"first_name": "first_name"}, encrypted=ENCRYPTED,
            subject_key_column="id", cipher=self.sp.fields)
