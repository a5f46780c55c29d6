"""Mirroring SMS consent recorded in the SDK on the platform (Shopify's one SMS marketing consent per customer):
outbox rows queued with each change, delivered by ``run-due`` to the adapter's ``set_sms_marketing_consent``.

The state mirrored is whether the number may now get any SMS marketing (subscribed to a marketing program and
not suppressed from it). A row is queued only for a number tied to a platform customer (``customer_ref``), and
only by the SDK's own changes: a change that came from the platform (``sp.sms.platform``) queues nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal, cast

from sqlalchemy.engine import Connection

from ..email import records
from ..errors import PermanentFailure
from ..platforms import PlatformAdapter, SmsConsentSink, SmsConsentUpdate
from .settings import SmsSettings
from .tables import SMS

if TYPE_CHECKING:
    from ..store.engine import Store
    from ..store.outbox import Delivery, Outbox

#: Outbox topic of SMS consent changes mirrored on the platform.
TOPIC = "sms.marketing_consent"
#: What a row of :data:`TOPIC` carries (pseudonym, state, level, time: no number).
PAYLOAD_KEYS = ("subject", "subscribed", "level", "at")
Level = Literal["single_opt_in", "confirmed_opt_in", "unknown"]


class SmsPropagation:
    """Queues SMS consent changes for the platform and delivers them (the handler of :data:`TOPIC`)."""

    def __init__(self, settings: SmsSettings, *, store: Store, outbox: Outbox,
                 adapter: Callable[[], PlatformAdapter | None]) -> None:
        self._settings = settings
        self._store = store
        self._outbox = outbox
        self._adapter = adapter

    def enqueue(self, conn: Connection, subject: str, bidx: str, *, level: Level, now: datetime) -> bool:
        """Queue the number's current marketing state in ``conn``'s transaction when it is tied to a platform
        customer. Rows of one subject share an ordering key: they reach the platform in order."""
        row = records.subject_row(conn, subject, SMS)
        if row is None or not row.customer_ref:
            return False
        held = records.states(conn, subject, SMS)
        subscribed = any(
            records.effective_state(held.get(lid), now) == "subscribed"
            and not records.is_suppressed(conn, bidx, lid, SMS)
            for lid, program in self._settings.lists.items() if program.kind == "marketing")
        # one row per change, even two in the same instant (a STOP and a START): the key is never reused
        key = f"{TOPIC}:{subject}:{'in' if subscribed else 'out'}:{now.isoformat()}:{secrets.token_hex(8)}"
        self._outbox.enqueue(conn, TOPIC, {"subject": subject, "subscribed": subscribed,
                                           "level": level if subscribed else "unknown", "at": now.isoformat()},
                             idempotency_key=key[:200], ordering_key=f"{TOPIC}:{subject}")
        return True

    def deliver(self, delivery: Delivery) -> None:
        """Set the customer's SMS marketing consent on the platform (the outbox handler of :data:`TOPIC`)."""
        adapter = self._adapter()
        if not isinstance(adapter, SmsConsentSink):
            return  # the platform keeps no SMS consent: nothing to mirror
        p = delivery.payload
        missing = [k for k in PAYLOAD_KEYS if k not in p]
        if missing:
            raise PermanentFailure(f"an {TOPIC} row needs {', '.join(PAYLOAD_KEYS)} (missing: {', '.join(missing)});"
                                   " the SDK queues these rows itself")
        with self._store.begin(write=False) as conn:
            row = records.subject_row(conn, str(p["subject"]), SMS)
        if row is None or not row.customer_ref:
            return
        level = str(p["level"]) if p["level"] in ("single_opt_in", "confirmed_opt_in") else "unknown"
        adapter.set_sms_marketing_consent(SmsConsentUpdate(
            subscribed=bool(p["subscribed"]), opt_in_level=cast(Level, level),
            consent_updated_at=datetime.fromisoformat(str(p["at"])), customer_id=str(row.customer_ref)),
            idempotency_key=delivery.idempotency_key)


__all__ = ["PAYLOAD_KEYS", "TOPIC", "SmsPropagation"]
