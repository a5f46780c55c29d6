"""Erasure on the platform: a row in the outbox (:func:`queue_platform_erase`), delivered with the row's
idempotency key by :class:`PlatformErasure`, its receipt recorded on the request's step."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..platforms import PersonalDataHost, require
from ..store.outbox import Delivery
from . import records
from .builtin import PLATFORM_TOPIC
from .model import FieldOutcome, SourceReceipt
from .notices import NOTICE_CONTEXT
from .processing import error_text

if TYPE_CHECKING:
    from .kit import RightsKit
    from .processing import Completion
    from .registry import AdapterProvider

log = logging.getLogger("shopprivacy.rights")


def queue_platform_erase(kit: RightsKit, request_id: str, source: str, customer_id: str) -> None:
    """Queue the platform's erasure of ``customer_id`` for the request (once per request and source)."""
    key = f"rights:{request_id}:{source}"[:200]
    token = kit.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key)
    kit.outbox.add(PLATFORM_TOPIC, {"request": request_id, "source": source, "customer": token},
                   idempotency_key=key)


class PlatformErasure:
    """The outbox handler of :data:`~.builtin.PLATFORM_TOPIC`."""

    def __init__(self, kit: RightsKit, adapter: AdapterProvider, completion: Completion) -> None:
        self.kit, self._adapter, self.completion = kit, adapter, completion

    def deliver(self, delivery: Delivery) -> None:
        """Erase on the platform with the row's idempotency key, record its receipt.

        A receipt the platform marks ``pending`` (it accepted the erasure and completes it on its own side)
        makes the step ``accepted``; a failure is recorded on the step (still ``pending``) and re-raised for the
        outbox to retry. A request closed meanwhile (rejected) is not erased on the platform."""
        p, kit = delivery.payload, self.kit
        source, request_id = str(p["source"]), str(p["request"])
        with kit.store.begin(write=False) as conn:
            row = records.load(conn, request_id)
        if row.state in ("rejected", "expired"):
            log.info("rights request %s was %s before its platform erasure ran; skipped", row.id, row.state)
            return
        customer = kit.fields.decrypt(p["customer"], context=NOTICE_CONTEXT, row=delivery.idempotency_key)
        host = require(self._adapter(), PersonalDataHost, "customer erasure")
        try:
            got = host.erase_customer(str(customer), idempotency_key=delivery.idempotency_key)
        except Exception as exc:
            with kit.store.begin() as conn:
                records.save_step(conn, row.id, source, status="pending", now=kit.clock(),
                                  error=error_text(source, exc), receipt=SourceReceipt(source, (FieldOutcome(
                                      "customer", "pending", "queued for the platform; the last attempt failed "
                                      "and is retried"),), pending=True).to_json())
            raise
        fields = [*(FieldOutcome(f, "erased") for f in got.erased),
                  *(FieldOutcome(f, "anonymised") for f in got.anonymised),
                  *(FieldOutcome(f, "retained", reason) for f, reason in got.retained.items())]
        if got.pending:
            fields.append(FieldOutcome("customer", "pending", "accepted; the platform completes it on its side"))
        receipt = SourceReceipt(source, tuple(fields), rows=1, pending=got.pending)
        with kit.store.begin() as conn:
            records.save_step(conn, row.id, source, status="accepted" if got.pending else "done", now=kit.clock(),
                              receipt=receipt.to_json())
            kit.audit_request(conn, row, "rights.source_erased", actor="outbox", source=source[:200],
                              fields=tuple(f.field for f in fields)[:50], pending=got.pending)
        self.completion.finish_if_complete(row.id)
