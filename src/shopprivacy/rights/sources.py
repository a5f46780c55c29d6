"""Where personal data lives: the :class:`DataSource` protocol and :class:`TableSource`, the ready helper for
a table of the shop's own database (table + subject column + field list).

A source finds, exports, corrects and erases what it holds about a :class:`~.model.Subject` (its verified
identifiers). Erasure must be idempotent: a failed request is retried from the start of that source.
Optional methods: ``erase_all()`` (a shop-wide redaction) returning a :class:`~.model.SourceReceipt`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy import String, Table, Text, delete, false, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ConfigurationError, InvalidInput, ShreddedError, TokenError
from ..fields.blind_index import normalise
from ..store.engine import make_engine
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


@dataclass(frozen=True)
class Retain:
    """Keep a field on erasure, for a stated reason (e.g. ``"invoice: tax law, 10 years"``)."""

    reason: str


Action = str | Retain  # "erase" | "anonymise" | Retain(reason)


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
    names (``email``, ``first_name``, ...) to columns. ``encrypted`` maps columns holding ``sp.fields``
    tokens to their context (the row binding is ``key_column``); ``subject_key_column`` names the column
    whose value was the ``subject=`` of those tokens: erasure crypto-shreds it. ``cipher`` is ``sp.fields``.
    """

    def __init__(self, name: str, engine: Engine | str, table: Table, *, subject_column: str,
                 fields: Sequence[str], match: str = "email", key_column: str | None = None,
                 actions: Mapping[str, Action] | None = None, default_action: Action = "erase",
                 anonymise_with: Mapping[str, Any] | None = None, delete_rows: bool = False,
                 rectify: Mapping[str, str] | None = None, encrypted: Mapping[str, str] | None = None,
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
        named = {subject_column, key_column, *fields, *(actions or {}), *(rectify or {}).values(),
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
        self.rectify_map = dict(rectify or {})
        self.encrypted = dict(encrypted or {})
        self.subject_key_column, self.cipher = subject_key_column, cipher
        self.actions: dict[str, Action] = {c: (actions or {}).get(c, default_action)
                                           for c in dict.fromkeys((subject_column, *self.fields))
                                           if c != key_column}
        for col, action in self.actions.items():
            if isinstance(action, Retain):
                if not action.reason.strip():
                    raise ConfigurationError(f"source {name!r}: retaining {col!r} needs a reason")
            elif action == "erase" and not cols[col].nullable and not delete_rows:
                raise ConfigurationError(f"source {name!r}: {col!r} is NOT NULL; anonymise or retain it")
            elif action == "anonymise" and col not in self.anonymise_with and not isinstance(
                    cols[col].type, (String, Text)):
                raise ConfigurationError(f"source {name!r}: give anonymise_with[{col!r}] for a non-text column")
            elif action not in ("erase", "anonymise"):
                raise ConfigurationError(f"source {name!r}: unknown action {action!r} for {col!r}")

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
        where = self._where(subject)
        wanted = {self.rectify_map[k]: v for k, v in changes.items() if k in self.rectify_map}
        if where is None or not wanted:
            return SourceReceipt(self.name)
        outcomes: list[FieldOutcome] = []
        with self.engine.begin() as conn:
            keys = [r[0] for r in conn.execute(select(self.table.c[self.key_column]).where(where))]
            for col, value in wanted.items():
                for key in keys:
                    conn.execute(update(self.table).where(self.table.c[self.key_column] == key)
                                 .values({col: self._stored(col, value, key)}))
                outcomes.append(FieldOutcome(col, "corrected" if keys else "not_held", rows=len(keys)))
        return SourceReceipt(self.name, tuple(outcomes), rows=len(keys))

    def _stored(self, col: str, value: str, key: Any) -> Any:
        if col == self.subject_column and self.blind_indexed:
            assert self.cipher is not None
            kind = "text" if self.match == "customer_id" else self.match
            return self.cipher.blind_index(value, kind=kind)  # type: ignore[arg-type]
        if col in self.encrypted:
            assert self.cipher is not None
            return self.cipher.encrypt(value, context=self.encrypted[col], row=str(key))
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
        retained = {c: a for c, a in self.actions.items() if isinstance(a, Retain)}
        shredded = self._shred(where)  # keys first: durable even if the update below fails
        with self.engine.begin() as conn:
            if self.delete_rows and not retained:
                stmt: Any = delete(self.table)
                rows = conn.execute(stmt if where is None else stmt.where(where)).rowcount
            else:
                values = {c: None if a == "erase" else self.anonymise_with.get(c, "anonymised")
                          for c, a in self.actions.items() if not isinstance(a, Retain)}
                stmt = update(self.table).values(values)
                rows = conn.execute(stmt if where is None else stmt.where(where)).rowcount if values else (
                    self.find_all(conn, where))
        if not rows:
            return SourceReceipt(self.name, (FieldOutcome("*", "not_held"),))
        outcomes = [FieldOutcome(c, "retained", a.reason, rows) if isinstance(a, Retain) else
                    FieldOutcome(c, "erased" if a == "erase" or self.delete_rows else "anonymised", rows=rows)
                    for c, a in self.actions.items()]
        if shredded:
            outcomes.append(FieldOutcome(f"{self.subject_key_column}:subject-key", "erased",
                                         "crypto-shredded", shredded))
        return SourceReceipt(self.name, tuple(outcomes), rows=rows)

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
