"""What every part of ``sp.rights`` shares: its collaborators (store, audit, keyring, fields, outbox, jobs,
clock, settings) and the three helpers built on them (audit entries of a request, blind indexes, links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection

from ..i18n import available_locales, negotiate
from ..store.journal import ErasureJournal, advance
from .archive import LOCALES

if TYPE_CHECKING:
    from ..fields.api import Fields
    from ..keys import Keyring
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.jobs import Jobs
    from ..store.outbox import Outbox
    from .settings import RightsSettings

_BIDX_KIND = {"email": "email", "phone": "phone", "customer_id": "text"}


@dataclass(frozen=True)
class RightsKit:
    """The collaborators of the rights parts, built once by :class:`~.service.Rights`."""

    store: Store
    audit: AuditLog
    keyring: Keyring
    fields: Fields
    outbox: Outbox
    jobs: Jobs
    clock: Callable[[], datetime]
    settings: RightsSettings
    public_base_url: str
    default_locale: str = "en"
    journal: ErasureJournal | None = None

    def journal_entry(self, kind: str, *, pseudonym: str, request_id: str | None = None,
                      work: dict[str, Any] | None = None) -> int:
        """Write an erasure to the journal before the database (0 when there is no journal)."""
        if self.journal is None:
            return 0
        return self.journal.append(kind, pseudonym=pseudonym, request_id=request_id, work=work)

    def journal_applied(self, conn: Connection, seq: int) -> None:
        """Record journal entry ``seq`` as applied, in the erasure's own transaction ``conn``."""
        if seq:
            advance(conn, seq, self.clock())

    def audit_request(self, conn: Connection, row: Any, action: str, *, actor: str = "system",
                      fields: tuple[str, ...] = (), **meta: Any) -> None:
        """Append an audit entry about the request ``row`` (its pseudonym, id and kind) in ``conn``."""
        self.audit.append(conn, actor=actor, action=action, subject=row.subject, fields=fields,
                          meta={"request": row.id, "kind": row.kind, **meta})

    def bidx(self, kind: str, value: str) -> str:
        """The blind index of an identifier (``email``, ``phone``, ``customer_id``, or a limit form of one)."""
        return self.fields.blind_index(value, kind=_BIDX_KIND[kind])  # type: ignore[arg-type]

    def url(self, path: str, token: str) -> str:
        """The portal's public link to ``path`` carrying ``token``."""
        base = self.public_base_url + self.settings.path_prefix.rstrip("/")
        return f"{base}{path}?{urlencode({'t': token})}"

    def locale(self, requested: str | None) -> str:
        """The request's language: ``requested`` when the rights texts have it, else the shop's default."""
        return negotiate(available_locales(LOCALES), requested=requested if isinstance(requested, str)
                         and len(requested) < 36 else None, default=self.default_locale)
