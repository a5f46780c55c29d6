"""Opt-outs applied set-based: many in one transaction with one statement per table.

:class:`OptOuts` is what ``Suppression`` runs for an unsubscribe: alone for a single call, or for a group of
concurrent one-click unsubscribes sharing a transaction (``shopprivacy.store.group_commit``). Either way each
opt-out writes its state, suppression, proof row, audit entry and outbox rows in the same transaction, and an
opt-out whose (subject, list) another opt-out of the group already set counts as a repeat, exactly as if the
two had run one after the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from ..errors import NotFoundError, ShopPrivacyError
from . import records
from .propagation import Propagation
from .records import Change, Meta
from .settings import ALL, EmailSettings

if TYPE_CHECKING:
    from ..store.audit import AuditLog
    from ..store.engine import Store

log = logging.getLogger("shopprivacy.email")


@dataclass(frozen=True)
class OptOut:
    """One opt-out: whom (pseudonym), from which list (``*``: all), why, where from, when."""

    subject: str
    list_id: str
    meta: Meta
    reason: str
    now: datetime


class OptOuts:
    """Checks and applies opt-outs (the two steps of ``GroupCommit``)."""

    def __init__(self, settings: EmailSettings, *, store: Store, audit: AuditLog, propagation: Propagation) -> None:
        self._settings = settings
        self._store = store
        self._audit = audit
        self._propagation = propagation

    @staticmethod
    def check(conn: Connection, items: list[OptOut]) -> list[Any | ShopPrivacyError]:
        """Each opt-out's subject row, or NotFoundError when the address is no longer held."""
        rows = records.subject_rows(conn, [item.subject for item in items])
        return [rows.get(item.subject) or NotFoundError("the unsubscribe link names an address this shop does not "
                                                        "hold") for item in items]

    def apply(self, conn: Connection, items: list[OptOut], rows: list[Any]) -> list[Change]:
        """Write the opt-outs (their subjects' ``rows`` from :meth:`check`); each one's :class:`Change`."""
        lists = {item.list_id: list(self._settings.lists) if item.list_id == ALL else [item.list_id]
                 for item in items}
        pairs: dict[tuple[str, str], int] = {}  # (subject, list) -> the first opt-out of the group setting it
        held: dict[tuple[str, str], int] = {}  # (blind index, list) -> the first opt-out of the group adding it
        for n, (item, row) in enumerate(zip(items, rows, strict=True)):
            for lid in lists[item.list_id]:
                pairs.setdefault((item.subject, lid), n)
            held.setdefault((row.address_bidx, item.list_id), n)
        changed = records.set_states(conn, [(s, lid, items[n].now) for (s, lid), n in pairs.items()],
                                     state="unsubscribed", level="unknown")
        newly = records.suppress_many(conn, [(b, lid, items[n].reason, items[n].now) for (b, lid), n in held.items()])
        events: list[tuple[str, str, str, str, Meta, datetime]] = []
        queued: list[tuple[str, str, datetime]] = []
        results: list[Change] = []
        for n, (item, row) in enumerate(zip(items, rows, strict=True)):
            mine = [lid for lid in lists[item.list_id]
                    if pairs[(item.subject, lid)] == n and (item.subject, lid) in changed]
            new = held[(row.address_bidx, item.list_id)] == n and (row.address_bidx, item.list_id) in newly
            if mine or new:
                events.append((item.subject, row.address_bidx, item.list_id, "unsubscribed", item.meta, item.now))
                queued += [(item.subject, lid, item.now) for lid in mine or lists[item.list_id]]
            results.append(Change(item.subject, item.list_id, bool(mine) or new))
        records.prove_many(conn, events, audit=self._audit)
        for subject, _, list_id, _, meta, _ in events:
            self._audit.stage(conn, actor=meta.source, action="email.unsubscribed", subject=subject,
                              fields=["email"], meta={"list": list_id})
        self._propagation.enqueue_many(conn, queued, subscribed=False, level="unknown")
        for change in results:
            self._store.after_commit(conn, f"email.unsubscribed:{change.subject}:{change.list_id}",
                                     _logger(change))
        return results


def _logger(change: Change) -> Callable[[], None]:
    return lambda: log.info("unsubscribed %s from %s", change.subject, change.list_id)
