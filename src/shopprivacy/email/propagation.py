"""Mirroring consent changes on the platform: outbox rows queued with each change, and the outbox handler
that calls the adapter's ``set_marketing_consent`` (retried with backoff by the outbox until it succeeds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from ..errors import PermanentFailure
from ..platforms import CustomerDirectory, MarketingConsentSink, MarketingConsentUpdate, PlatformAdapter
from . import records
from .subjects import Subjects

if TYPE_CHECKING:
    from ..store.engine import Store
    from ..store.outbox import Delivery, Outbox

#: Outbox topic of marketing-consent changes mirrored on the platform.
TOPIC = "email.marketing_consent"
#: What a row of :data:`TOPIC` carries (pseudonym, list id, state, level, time: no personal data).
PAYLOAD_KEYS = ("subject", "list", "subscribed", "level", "at")


class Propagation:
    """Queues consent changes for the platform and delivers them (the handler of :data:`TOPIC`)."""

    def __init__(self, *, store: Store, outbox: Outbox, subjects: Subjects,
                 adapter: Callable[[], PlatformAdapter]) -> None:
        self._store = store
        self._outbox = outbox
        self._subjects = subjects
        self._adapter = adapter

    def enqueue(self, conn: Connection, subject: str, list_id: str, *, subscribed: bool, level: str,
                now: datetime) -> None:
        """Queue the change for the platform in ``conn``'s transaction (delivered by ``run-due``).

        Rows of one subject and list share an ordering key (pseudonym and list id only): they reach the
        platform in order, and a newer change supersedes an older one still waiting for a retry."""
        self.enqueue_many(conn, [(subject, list_id, now)], subscribed=subscribed, level=level)

    def enqueue_many(self, conn: Connection, changes: list[tuple[str, str, datetime]], *, subscribed: bool,
                     level: str) -> None:
        """:meth:`enqueue` for several changes (subject, list id, time) at once, in one statement."""
        side = "in" if subscribed else "out"
        self._outbox.enqueue_many(conn, TOPIC, [
            ({"subject": subject, "list": list_id, "subscribed": subscribed, "level": level, "at": at.isoformat()},
             f"{TOPIC}:{subject}:{list_id}:{side}:{at.isoformat()}"[:200], f"{TOPIC}:{subject}:{list_id}")
            for subject, list_id, at in changes])

    def deliver(self, delivery: Delivery) -> None:
        """Set the subscriber's marketing consent on the platform (the outbox handler of :data:`TOPIC`)."""
        adapter = self._adapter()
        if not isinstance(adapter, MarketingConsentSink):
            return  # the platform keeps no marketing consent: nothing to mirror
        p = delivery.payload
        missing = [k for k in PAYLOAD_KEYS if k not in p]
        if missing:  # queued by hand, not by the SDK: retrying cannot help
            raise PermanentFailure(
                f"an {TOPIC} row needs {', '.join(PAYLOAD_KEYS)} (missing: {', '.join(missing)}); the SDK queues "
                "these rows itself when a subscriber unsubscribes or opts in — queue your own side effects under "
                "a topic of your own with a handler (sp.outbox.register)")
        with self._store.begin(write=False) as conn:
            row = records.subject_row(conn, str(p["subject"]))
        if row is None:
            return
        address = self._subjects.address_of(row)
        customer_id = row.customer_ref
        if customer_id is None and isinstance(adapter, CustomerDirectory) and address:
            found = adapter.find_customer(email=address)
            if found is None:
                return  # a subscriber who is not a customer of the platform: nothing to mirror
            customer_id = found.id
        if customer_id is None and not address:
            return
        adapter.set_marketing_consent(MarketingConsentUpdate(
            list_id=str(p["list"]), subscribed=bool(p["subscribed"]), opt_in_level=p["level"],
            consent_updated_at=datetime.fromisoformat(str(p["at"])), customer_id=customer_id, email=address),
            idempotency_key=delivery.idempotency_key)
