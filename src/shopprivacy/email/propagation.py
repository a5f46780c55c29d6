"""Mirroring consent changes on the platform: the outbox handler that calls the adapter's
``set_marketing_consent`` (retried with backoff by the outbox until it succeeds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import ShreddedError
from ..platforms import CustomerDirectory, MarketingConsentSink, MarketingConsentUpdate
from ..store.outbox import Delivery
from . import records
from .core import EmailBase


class PropagationMixin(EmailBase):
    """The outbox handler of :data:`~.core.TOPIC`."""

    def _deliver(self, delivery: Delivery) -> None:
        adapter = self.sp.adapter
        if not isinstance(adapter, MarketingConsentSink):
            return  # the platform keeps no marketing consent: nothing to mirror
        p = delivery.payload
        with self.sp.store.begin(write=False) as conn:
            row = records.subject_row(conn, str(p["subject"]))
        if row is None:
            return
        address = self._address(row)
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

    def _address(self, row: Any) -> str | None:
        """The clear address of a subject row; None once erased (shredded or dropped)."""
        if row.address is None:
            return None
        try:
            return str(self.sp.fields.decrypt(row.address, context="sp_email_subjects.address", row=row.subject))
        except ShreddedError:
            return None
