"""Where personal data lives: the :class:`DataSource` protocol and :class:`TableSource`, the ready helper for
a table of the shop's own database (table + subject column + field list).

A source finds, exports, corrects and erases what it holds about a :class:`~.model.Subject` (its verified
identifiers). Erasure must be idempotent: a failed request is retried from the start of that source.
Optional methods: ``erase_all()`` (a shop-wide redaction) returning a :class:`~.model.SourceReceipt`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy import String, Table, Text, and_, delete, false, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ConfigurationError, ConflictError, InvalidInput, ShreddedError, TokenError
from ..fields.blind_index import normalise
from ..store.engine import make_engine
from .actions import Action, Columns, columns_of, erased_values, erasure_receipt, plan_actions, plan_rectify, retained
from .model import IDENTIFIERS, FieldOutcome, SourceReceipt, Subject

if TYPE_CHECKING:
    from ..fields.api import Fields


#: What a :class:`TableSource` can match on: an identifier, or the order ids a platform named.
MATCHES: tuple[str, ...] = (*IDENTIFIERS, "order_id")


@runtime_checkable
class DataSource(Protocol):
    """Personal data of one place (a table, a service, the platform). ``name`` appears in receipts."""

    name: str

    def find(self, subject: Subject) -> int:
        """How many records this source holds about ``subject`` (0: none)."""

    def export(self, subject: Subject) -> Mapping[str, Any]:
        """Everything held about ``subject``, JSON-able (Art. 15/20); empty when nothing is held."""

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        """Apply the corrections this source can hold (``corrected`` outcomes); ignore the others."""

    def erase(self, subject: Subject) -> SourceReceipt:
        """Erase or anonymise, keeping what must be retained (with the reason). Idempotent."""



def jsonable(value: Any) -> Any:
    """``value`` made JSON-able: dates as ISO 8601, decimals as text, bytes as base64."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


class TableSource:
    """A table of the shop's database as a :class:`DataSource`.

    ``subject_column`` holds the identifier named by ``match`` (``email``, ``phone``, ``customer_id`` or
    ``order_id``, the orders a platform named with a forwarded request; with ``blind_indexed=True`` it holds
    ``sp.fields.blind_index`` of it). E-mail addresses match as the SDK normalises them (trimmed, casefolded,
    NFKC), whatever their case in the table. ``fields`` are the columns
    exported. ``actions`` says per column what erasure does: ``"erase"`` (NULL, the default),
    ``"anonymise"`` (replace with ``anonymise_with[column]`` or ``"anonymised"``) or ``Retain(reason)``;
    with ``delete_rows=True`` and nothing retained, matching rows are deleted. ``rectify`` maps portal field
    names (``email``, ``first_name``, ...) to a column or a sequence of columns, each written the way it is
    stored (an encrypted e-mail and its blind index: ``{"email": ("email", "email_bidx")}``). ``encrypted``
    maps columns holding ``sp.fields`` tokens to their context (the row binding is ``key_column``);
    ``subject_key_column`` names the column whose value was the ``subject=`` of those tokens (corrected values
    are encrypted under it too): erasure crypto-shreds it. ``cipher`` is ``sp.fields``.
    """

    def __init__(self, name: str, engine: Engine | str, table: Table, *, subject_column: str,
                 fields: Sequence[str], match: str = "email", key_column: str | None = None,
                 actions: Mapping[str, Action] | None = None, default_action: Action = "erase",
                 anonymise_with: Mapping[str, Any] | None = None, delete_rows: bool = False,
                 rectify: Mapping[str, Columns] | None = None, encrypted: Mapping[str, str] | None = None,
                 blind_indexed: bool = False, subject_key_column: str | None = None,
                 cipher: Fields | None = None) -> None:
        self.name = name
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.table = table
        cols = table.c
        if match not in MATCHES:
            raise ConfigurationError(f"source {name!r}: match must be one of {', '.join(MATCHES)}")
        if key_column is None:
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                raise ConfigurationError(f"source {name!r}: name key_column (the table has no single primary key)")
            key_column = pk[0].name
        self.rectify_map = plan_rectify(name, rectify or {}, subject_column, key_column, match)
        named = {subject_column, key_column, *fields, *(actions or {}), *columns_of(self.rectify_map),
                 *(encrypted or {}), *([subject_key_column] if subject_key_column else [])}
        missing = sorted(n for n in named if n not in cols)
        if missing:
            raise ConfigurationError(f"source {name!r}: table {table.name!r} has no column(s) {', '.join(missing)}")
        if (encrypted or subject_key_column or blind_indexed) and cipher is None:
            raise ConfigurationError(f"source {name!r}: encrypted or blind-indexed columns need cipher=sp.fields")
        self.subject_column, self.key_column, self.match = subject_column, key_column, match
        self.fields = tuple(dict.fromkeys(fields))
        self.anonymise_with = dict(anonymise_with or {})
        self.delete_rows, self.blind_indexed = delete_rows, blind_indexed
        self.encrypted = dict(encrypted or {})
        self.subject_key_column, self.cipher = subject_key_column, cipher
        self.actions = plan_actions(
            name, (c for c in (subject_column, *self.fields) if c != key_column), actions, default_action,
            nullable=lambda c: bool(cols[c].nullable), textual=lambda c: isinstance(cols[c].type, (String, Text)),
            anonymise_with=self.anonymise_with, delete_rows=delete_rows)

    # -- matching ---------------------------------------------------------------------------------------
    def _where(self, subject: Subject) -> ColumnElement[bool] | None:
        col = self.table.c[self.subject_column]
        if self.match == "order_id":
            if not subject.order_ids:
                return None
            if self.blind_indexed:
                assert self.cipher is not None
                return col.in_([self.cipher.blind_index(v, kind="text") for v in subject.order_ids])
            return col.in_(subject.order_ids)
        value = subject.get(self.match)
        if value is None:
            return None
        if self.blind_indexed:
            assert self.cipher is not None
            kind = "text" if self.match == "customer_id" else self.match
            bidx = self.cipher.blind_index(value, kind=kind)  # type: ignore[arg-type]
            return col == bidx
        if self.match != "email":
            return col == value
        keys = self._keys_of_non_ascii_email(value)
        by_key = self.table.c[self.key_column].in_(keys) if keys else None
        if not value.isascii():  # only a non-ASCII address normalises to a non-ASCII value
            return false() if by_key is None else by_key
        # SQL lower() agrees with casefold() on ASCII (SQLite's lower() knows only ASCII)
        return func.lower(col) == value if by_key is None else or_(func.lower(col) == value, by_key)

    def _keys_of_non_ascii_email(self, value: str) -> list[Any]:
        """Keys of rows holding a non-ASCII address that normalises to ``value`` (``Straße@…`` is
        ``strasse@…``): compared in Python, as SQL's lower() differs between databases and never casefolds."""
        col, key = self.table.c[self.subject_column], self.table.c[self.key_column]
        keys: list[Any] = []
        dialect = self.engine.dialect.name
        q = select(key, col).where(col.is_not(None))
        if dialect == "sqlite":
            q = q.where(col.op("GLOB")("*[^\x01-\x7f]*"))
        elif dialect == "postgresql":
            q = q.where(col.op("~")(r"[^\x01-\x7f]"))
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=1000).execute(q)
            for k, address in result:
                try:
                    if isinstance(address, str) and normalise(address, "email") == value:
                        keys.append(k)
                except InvalidInput:
                    continue
        return keys

    def find(self, subject: Subject) -> int:
        where = self._where(subject)
        if where is None:
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table).where(where)).scalar_one())

    # -- export -----------------------------------------------------------------------------------------
    def _value(self, row: Mapping[str, Any], col: str) -> Any:
        value = row[col]
        context = self.encrypted.get(col)
        if context is None or value is None:
            return jsonable(value)
        assert self.cipher is not None
        try:
            return jsonable(self.cipher.decrypt(value, context=context, row=str(row[self.key_column])))
        except ShreddedError:
            return "[crypto-shredded]"
        except TokenError:
            return "[unreadable]"

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        if not self.encrypted:
            return {c: jsonable(v) for c, v in row.items()}
        return {c: self._value(row, c) for c in row}

    def export(self, subject: Subject) -> Mapping[str, Any]:
        where = self._where(subject)
        if where is None:
            return {}
        cols = [self.table.c[c] for c in dict.fromkeys((self.key_column, *self.fields))]
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=1000).execute(
                select(*cols).where(where).order_by(self.table.c[self.key_column]))
            rows = [self._row(dict(r._mapping)) for r in result]
        return {"table": self.table.name, "rows": rows} if rows else {}

    # -- rectify ----------------------------------------------------------------------------------------
    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        """Write each correction to every column its field maps to, in one transaction.

        The new values (tokens under the row's subject key, blind indexes) are computed before the write
        transaction opens: encrypting for a subject may create its key in the SDK's store, which would wait on
        the shop's own open transaction when the table lives in the SDK's SQLite file (see :meth:`_shred`).
        A value that collides with a unique column raises ConflictError; nothing is written then.
        """
        where = self._where(subject)
        wanted = {c: v for k, v in changes.items() for c in self.rectify_map.get(k, ())}
        if where is None or not wanted:
            return SourceReceipt(self.name)
        key = self.table.c[self.key_column]
        subject_key = (self.table.c[self.subject_key_column]
                       if self.subject_key_column and any(c in self.encrypted for c in wanted) else None)
        with self.engine.connect() as conn:
            found = conn.execute(select(key, *([subject_key] if subject_key is not None else []))
                                 .where(where).order_by(key)).all()
        plans = [(r[0], {c: self._stored(c, v, r[0], r[1] if subject_key is not None else None)
                         for c, v in wanted.items()}) for r in found]
        rows = 0
        if plans:
            try:
                with self.engine.begin() as conn:
                    for k, values in plans:  # still matching: a row changed meanwhile is left alone
                        rows += conn.execute(update(self.table).where(and_(key == k, where)).values(values)).rowcount
            except IntegrityError:
                raise ConflictError(f"source {self.name!r}: a corrected value is already held by another row "
                                    f"of {self.table.name!r} (unique column)") from None
        return SourceReceipt(self.name, tuple(FieldOutcome(c, "corrected" if rows else "not_held", rows=rows)
                                              for c in wanted), rows=rows)

    def _stored(self, col: str, value: str, key: Any, subject_key: Any = None) -> Any:
        """``value`` as ``col`` holds it: blind-indexed (the subject column), encrypted for the row (under
        ``subject_key`` when the row has one) or as given."""
        if col == self.subject_column and self.blind_indexed:
            assert self.cipher is not None
            kind = "text" if self.match == "customer_id" else self.match
            return self.cipher.blind_index(value, kind=kind)  # type: ignore[arg-type]
        if col in self.encrypted:
            assert self.cipher is not None
            return self.cipher.encrypt(value, context=self.encrypted[col], row=str(key),
                                       subject=None if subject_key is None else str(subject_key))
        return value

    # -- erase ------------------------------------------------------------------------------------------
    def _shred(self, where: ColumnElement[bool] | None) -> int:
        """Destroy the subject keys of the matching rows, committed before the rows change.

        The keys are read and shredded outside the shop's write transaction: when the shop's table lives in
        the SDK's own SQLite file, shredding (a write on the SDK's connection) inside it would wait for a lock
        the open transaction holds.
        """
        if self.subject_key_column is None or self.cipher is None:
            return 0
        col = self.table.c[self.subject_key_column]
        q = select(col).distinct().where(col.is_not(None))
        with self.engine.connect() as conn:
            subjects = [r[0] for r in conn.execute(q if where is None else q.where(where))]
        return sum(bool(self.cipher.shred(str(s), actor="rights")) for s in subjects)

    def _apply(self, where: ColumnElement[bool] | None) -> SourceReceipt:
        shredded = self._shred(where)  # keys first: durable even if the update below fails
        deleted = self.delete_rows and not retained(self.actions)
        with self.engine.begin() as conn:
            if deleted:
                stmt: Any = delete(self.table)
                rows = conn.execute(stmt if where is None else stmt.where(where)).rowcount
            else:
                values = erased_values(self.actions, self.anonymise_with)
                stmt = update(self.table).values(values)
                rows = conn.execute(stmt if where is None else stmt.where(where)).rowcount if values else (
                    self.find_all(conn, where))
        return erasure_receipt(self.name, self.actions, rows, deleted=deleted, shredded=shredded,
                               key_column=self.subject_key_column)

    def find_all(self, conn: Connection, where: ColumnElement[bool] | None) -> int:
        q = select(func.count()).select_from(self.table)
        return int(conn.execute(q if where is None else q.where(where)).scalar_one())

    def erase(self, subject: Subject) -> SourceReceipt:
        where = self._where(subject)
        if where is None:
            return SourceReceipt(self.name, (FieldOutcome("*", "not_held", f"no {self.match} to match on"),))
        return self._apply(where)

    def erase_all(self) -> SourceReceipt:
        """Apply the erasure actions to every row (a shop-wide redaction)."""
        return self._apply(None)


def source_names(sources: Iterable[DataSource]) -> list[str]:
    return [s.name for s in sources]
