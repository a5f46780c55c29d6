"""Replay of the erasure journal after a restored backup (``shopprivacy erasures replay``).

Every entry after the database's mark is applied again, oldest first, each in a transaction of its own that also
moves the mark: a replay stopped half-way (even by ``kill -9``) resumes where it stopped, and a second one finds
nothing to do. Applying an entry is idempotent:

* ``shred``: the subject key is destroyed again (a tombstone is left when the restored database never held it);
* ``shred_all`` (a shop redaction): every key is destroyed, every e-mail address, request identifier and export
  dropped again;
* ``erase``: the e-mail subject's address and platform id are dropped again and its address suppressed from
  every list again (by the keyed hash the journal holds); the erasure request, when the
  restored database holds it still open, is made due at once so ``run-due`` runs it over every source again;
* ``platform``: the platform's erasure is queued again in the outbox (:data:`REPLAY_TOPIC`), delivered with the
  original idempotency key, so a platform that already erased the customer does nothing twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import update

from ..errors import ConfigurationError
from ..platforms import PersonalDataHost, require
from ..store.journal import Entry, applied
from .model import OPEN_STATES
from .notices import NOTICE_CONTEXT
from .tables import exports, identifiers, requests

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..email.service import Email
    from ..store.journal import ErasureJournal
    from ..store.outbox import Delivery
    from .kit import RightsKit
    from .registry import AdapterProvider

log = logging.getLogger("shopprivacy.rights")
REPLAY_TOPIC = "rights.platform_erase_replay"
_LOCK = "shopprivacy:erasure-journal-replay"


class ErasureReplay:
    """Compares the database with its erasure journal and applies what it lacks (see the module docstring)."""

    def __init__(self, kit: RightsKit, email: Email) -> None:
        self.kit, self.email = kit, email

    def _journal(self) -> ErasureJournal:
        if self.kit.journal is None:
            raise ConfigurationError("no erasure journal is configured: set SHOPPRIVACY_ERASURE_JOURNAL__URL to a "
                                     "database other than the SDK's (docs/rights.md, backups)",
                                     setting="SHOPPRIVACY_ERASURE_JOURNAL__URL")
        return self.kit.journal

    def status(self) -> tuple[int, int]:
        """(highest entry applied to this database, newest entry of the journal)."""
        journal = self._journal()
        with self.kit.store.begin(write=False) as conn:
            mark = applied(conn)
        return mark, journal.last_seq()

    def replay(self, *, batch: int = 200) -> dict[str, int]:
        """Apply every entry after the mark; returns how many of each kind were applied."""
        journal, kit = self._journal(), self.kit
        counts = {"shred": 0, "shred_all": 0, "erase": 0, "platform": 0}
        while True:
            with kit.store.begin(write=False) as conn:
                mark = applied(conn)
            pending = journal.after(mark, limit=batch)
            for entry in pending:
                with kit.store.begin() as conn:
                    kit.store.lock(conn, _LOCK)
                    if applied(conn) >= entry.seq:
                        continue  # another replay applied it meanwhile
                    self._apply(conn, entry)
                    kit.journal_applied(conn, entry.seq)
                counts[entry.kind] = counts.get(entry.kind, 0) + 1
            if len(pending) < batch:
                break
        if any(counts.values()):
            log.warning("erasure journal replayed: %s", ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        return counts

    def _apply(self, conn: Connection, entry: Entry) -> None:
        kit = self.kit
        if entry.kind == "shred" and entry.key_id:
            kit.fields.reshred(pseudonym=entry.pseudonym, handle=entry.key_id, seq=entry.seq, conn=conn)
        elif entry.kind == "shred_all":
            kit.fields.reshred_all(conn=conn)
            self.email.subjects.forget_all(conn)
            conn.execute(update(identifiers).values(value=None))
            conn.execute(update(exports).values(archive=None, wrapped_key=None))
        elif entry.kind == "erase":
            self.email.subjects.forget(conn, entry.pseudonym)
            bidx = (entry.work or {}).get("suppress")
            if isinstance(bidx, str) and bidx:
                self.email.suppression.suppress_hashed(conn, bidx, subject=entry.pseudonym)
            if entry.request_id:
                conn.execute(update(requests).where(requests.c.id == entry.request_id, requests.c.kind == "erase",
                                                    requests.c.state.in_(sorted(OPEN_STATES)))
                             .values(next_attempt_at=None, updated_at=kit.clock()))
        elif entry.kind == "platform" and entry.work:
            work = entry.work
            kit.outbox.enqueue(conn, REPLAY_TOPIC, {"request": entry.request_id, "source": work.get("source"),
                                                    "key": work.get("key"), "customer": work.get("customer")},
                               idempotency_key=f"journal:{entry.seq}")
        kit.audit.append(conn, actor="journal", action="rights.erasure_replayed", subject=entry.pseudonym[:120],
                         meta={"journal_seq": entry.seq, "kind": entry.kind, "request": entry.request_id})


class ReplayedPlatformErasure:
    """The outbox handler of :data:`REPLAY_TOPIC`: the platform's erasure again, with its original idempotency key
    (the request may be missing from a restored database, so nothing is recorded on it)."""

    def __init__(self, kit: RightsKit, adapter: AdapterProvider) -> None:
        self.kit, self._adapter = kit, adapter

    def deliver(self, delivery: Delivery) -> None:
        p, kit = delivery.payload, self.kit
        key = str(p["key"])
        customer = kit.fields.decrypt(p["customer"], context=NOTICE_CONTEXT, row=key)
        host = require(self._adapter(), PersonalDataHost, "customer erasure")
        got = host.erase_customer(str(customer), idempotency_key=key)
        with kit.store.begin() as conn:
            kit.audit.append(conn, actor="outbox", action="rights.platform_erasure_replayed",
                             meta={"request": p.get("request"), "source": str(p.get("source"))[:200],
                                   "pending": got.pending})
