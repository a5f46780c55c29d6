"""SQLAlchemy Core column type for encrypted fields.

::

    email = Column("email", EncryptedString(lambda: sp.fields, context="customers.email"))
    conn.execute(insert(customers).values(id=42, email="jane@example.com"))   # encrypted on bind
    conn.execute(select(customers.c.email)).scalar()                           # decrypted on result

A column type never sees the other columns of its row, so by default the token is bound to the column
(``context``) only. With ``row_bound=True`` it is bound to the row as well: write ``RowBound(value, row=42)``
and read through ``decrypted(customers.c.email, row=customers.c.id)``, which fetches the row id with the
token (``id || '|' || email``) and decrypts with both; the bare column then yields :class:`Sealed` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Text, cast, literal, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from ..errors import BadToken, InvalidInput

if TYPE_CHECKING:
    from .api import Fields

COLUMN_ONLY_ROW = "*"


@dataclass(frozen=True)
class RowBound:
    """A value to store bound to ``row`` (for ``EncryptedString(row_bound=True)``)."""

    value: Any
    row: str | int

    def __repr__(self) -> str:
        return f"RowBound(<redacted>, row={self.row!r})"


@dataclass(frozen=True)
class Sealed:
    """A row-bound token read without its row; ``open(fields, row)`` decrypts it."""

    token: str
    context: str

    def open(self, fields: Fields, row: str | int) -> Any:
        return fields.decrypt(self.token, context=self.context, row=row)

    def __repr__(self) -> str:
        return f"Sealed({self.context})"


def _resolve(source: Any) -> Fields:
    return source() if callable(source) else source  # type: ignore[no-any-return]


class EncryptedString(TypeDecorator[Any]):
    """Encrypts on bind and decrypts on result (text, bytes or JSON-able values; ``None`` stays ``None``)."""

    impl = Text
    cache_ok = True

    def __init__(self, fields: Any, *, context: str, row_bound: bool = False) -> None:
        super().__init__()
        self.fields_source = fields
        self.context = context
        self.row_bound = row_bound

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        fields = _resolve(self.fields_source)
        if isinstance(value, RowBound):
            if not self.row_bound:
                raise InvalidInput(f"{self.context} is bound to its column only; store plain values")
            return fields.encrypt(value.value, context=self.context, row=value.row)
        if self.row_bound:
            raise InvalidInput(f"{self.context} is row-bound: store RowBound(value, row=...)")
        return fields.encrypt(value, context=self.context, row=COLUMN_ONLY_ROW)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if self.row_bound:
            return Sealed(value, self.context)
        return _resolve(self.fields_source).decrypt(value, context=self.context, row=COLUMN_ONLY_ROW)


class _RowAndToken(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def __init__(self, fields: Any, context: str) -> None:
        super().__init__()
        self.fields_source, self.context = fields, context

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        row, sep, token = str(value).rpartition("|")
        if not sep:
            raise BadToken(f"{self.context}: no row id came with the token")
        return _resolve(self.fields_source).decrypt(token, context=self.context, row=row)


def decrypted(column: ColumnElement[Any], *, row: ColumnElement[Any]) -> ColumnElement[Any]:
    """A select expression yielding the plaintext of a row-bound ``EncryptedString`` column."""
    ctype = column.type
    if not isinstance(ctype, EncryptedString) or not ctype.row_bound:
        raise InvalidInput("decrypted() takes a row-bound EncryptedString column")
    joined = cast(row, String) + literal("|") + type_coerce(column, Text)
    return type_coerce(joined, _RowAndToken(ctype.fields_source, ctype.context)).label(column.key or "value")
