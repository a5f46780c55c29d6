"""Customer accounts: e-mail, first name, phone and address encrypted with ``sp.fields``, login by the e-mail's
blind index, passwords hashed by werkzeug (scrypt). The account table is also a rights source (export,
correction, erasure)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from shopprivacy import ShopPrivacy
from shopprivacy.errors import ConflictError
from shopprivacy.fields import is_token
from shopprivacy.rights import SourceReceipt, Subject, TableSource

from ..shop_common.signup import check_sign_up
from .db import customers, forget_deleted

#: ``sp.fields`` contexts of the encrypted columns ("table.column"): a token copied elsewhere won't decrypt.
ENCRYPTED = {"email": "shop_customers.email", "first_name": "shop_customers.first_name",
             "phone": "shop_customers.phone", "address": "shop_customers.address"}
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


class AccountSource(TableSource):
    """The account table as a rights source that, on SQLite, also empties the WAL after a correction or an
    erasure: the replaced tokens (still readable under the customer's key after a correction) and the deleted
    rows leave the ``-wal`` file, and ``secure_delete`` has zeroed them in the database file."""

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        receipt = super().rectify(subject, changes)
        forget_deleted(self.engine)
        return receipt

    def erase(self, subject: Subject) -> SourceReceipt:
        receipt = super().erase(subject)
        forget_deleted(self.engine)
        return receipt

    def erase_all(self) -> SourceReceipt:
        receipt = super().erase_all()
        forget_deleted(self.engine)
        return receipt


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
        form = check_sign_up(email, password, first_name=first_name, phone=phone, address=address)
        cid = "cu_" + secrets.token_hex(8)
        row: dict[str, Any] = {
            "id": cid, "email_bidx": self._bidx(form.email), "email": self._enc("email", form.email, cid),
            "first_name": self._enc("first_name", form.first_name, cid), "phone": self._enc("phone", form.phone, cid),
            "address": self._enc("address", form.address, cid), "password_hash": generate_password_hash(password),
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
        def dec(column: str) -> str | None:
            value = getattr(row, column)
            return None if value is None else str(self.sp.fields.decrypt(value, context=ENCRYPTED[column], row=cid))

        return Customer(id=cid, email=str(dec("email")), first_name=dec("first_name"), phone=dec("phone"),
                        address=dec("address"), platform_customer_id=row.platform_customer_id)

    def encrypt_plain_names(self) -> int:
        """Encrypt first names an earlier version of the shop stored in plaintext (run at start; idempotent).
        Returns how many were encrypted."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(customers.c.id, customers.c.first_name)
                                .where(customers.c.first_name.is_not(None))).all()
            plain = [(str(r.id), str(r.first_name)) for r in rows if not is_token(r.first_name)]
            for cid, name in plain:
                conn.execute(update(customers).where(customers.c.id == cid)
                             .values(first_name=self._enc("first_name", name, cid)))
        return len(plain)

    def ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(i) for i in conn.execute(select(customers.c.id).where(customers.c.email.is_not(None))
                                                 .order_by(customers.c.created_at, customers.c.id)).scalars()]

    def link_platform(self, cid: str, platform_customer_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(customers).where(customers.c.id == cid)
                         .values(platform_customer_id=platform_customer_id))

    def rights_source(self) -> AccountSource:
        """The account table as a rights source: found by the e-mail's blind index, exported decrypted,
        corrected under the customer's key (a new e-mail moves the blind index, so the login follows), erased
        by crypto-shredding the customer's key and deleting the row; on SQLite the WAL is emptied afterwards."""
        return AccountSource(
            "shop_customers", self.engine, customers, subject_column="email_bidx", match="email",
            blind_indexed=True, key_column="id",
            fields=("email", "first_name", "phone", "address", "platform_customer_id", "created_at"),
            delete_rows=True, encrypted=ENCRYPTED,
            rectify={"email": ("email", "email_bidx"), "first_name": "first_name", "phone": "phone",
                     "address": "address"},
            subject_key_column="id", cipher=self.sp.fields)
