"""Audited, role-limited decryption: ``sp.fields.reader(actor=..., purpose=..., role=...)``.

A reader checks each read against the access policy (a refused read raises :class:`AccessDenied` and is
audited at once) and records allowed reads in batches: a page that lists 50 customers costs one audit entry.
Use it as a context manager (the batch is written on exit) or call :meth:`FieldReader.flush`. The Flask and
Django integrations open one per request of a signed-in staff user (:func:`current_reader`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from ..errors import AccessDenied
from .access_log import AccessLog, Identity
from .access_policy import AccessPolicy
from .ciphertext import is_token

if TYPE_CHECKING:
    from .api import Fields

#: Reads kept in memory before a batch is written on its own.
FLUSH_EVERY = 1000
_current: ContextVar[FieldReader | None] = ContextVar("shopprivacy_field_reader", default=None)


class FieldReader:
    """Decrypts for one identity; see the module docstring."""

    def __init__(self, fields: Fields, log: AccessLog, policy: AccessPolicy, who: Identity) -> None:
        self.fields, self.log, self.policy, self.who = fields, log, policy, who
        self._pending: dict[tuple[str | None, str | None], dict[str, int]] = {}
        self._count = 0

    def allows(self, context: str) -> bool:
        """Whether this reader's role may read the field bound to ``context``."""
        return self.policy.allows(self.who.role, context)

    def decrypt(self, token: str | None, *, context: str, row: str | int, subject: str | None = None,
                conn: Connection | None = None) -> Any:
        """``sp.fields.decrypt`` for this identity. ``subject``: the customer the value belongs to (values under a
        subject key name it themselves). Raises AccessDenied (audited) when the role may not read ``context``."""
        key_subject = self.log.key_subject(subject) if subject is not None else None
        if not self.allows(context):
            self.log.denied(self.who, context, key_subject, conn)
            raise AccessDenied(context, self.who.role)
        value = self.fields.decrypt(token, context=context, row=row, conn=conn)
        if token is not None:
            handle = None
            if key_subject is None and is_token(token) and token.startswith("spf1s."):
                handle = token.split(".", 2)[1]
            counts = self._pending.setdefault((key_subject, handle), {})
            counts[context] = counts.get(context, 0) + 1
            self._count += 1
            if self._count >= FLUSH_EVERY:
                self.flush()
        return value

    def flush(self) -> int | None:
        """Write the pending reads as one batch; returns its audit entry's sequence number (or ``None``)."""
        pending, self._pending, self._count = self._pending, {}, 0
        return self.log.record(self.who, pending)

    def __enter__(self) -> FieldReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.flush()


def current_reader() -> FieldReader | None:
    """The reader an integration opened for the current request (a signed-in staff user), if any."""
    return _current.get()


def start_reading(reader: FieldReader) -> Callable[[], None]:
    """Make ``reader`` the :func:`current_reader` until the returned function is called, which writes its batch
    (for integrations whose request start and end are separate hooks)."""
    token = _current.set(reader)

    def finish() -> None:
        try:
            _current.reset(token)
        except ValueError:  # finished from another context: clear it there
            _current.set(None)
        reader.flush()

    return finish


@contextmanager
def reading_as(reader: FieldReader) -> Iterator[FieldReader]:
    """Make ``reader`` the :func:`current_reader` inside the block, and write its batch at the end."""
    token = _current.set(reader)
    try:
        yield reader
    finally:
        _current.reset(token)
        reader.flush()
