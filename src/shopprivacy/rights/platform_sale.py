"""The opt-out of sale/sharing on the platform: a row in the outbox (:func:`queue_platform_sale_opt_out`),
delivered in order per customer by :class:`PlatformSaleOptOut` with the row's idempotency key (Shopify
``dataSaleOptOut``, WooCommerce customer meta ``shopprivacy_sale_opt_out``), its receipt recorded on the
request's step.

Rows of one customer share an ordering key (a keyed hash of the customer id, or of the e-mail address when the
customer id is unknown): the outbox delivers only the newest and supersedes older ones still waiting, so each
row names every request it answers (its own and those of the rows it supersedes).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..platforms import SaleOptOut, SaleOptOutSink, require
from ..store.outbox import Delivery
from . import records
from .model import FieldOutcome, SourceReceipt
from .notices import NOTICE_CONTEXT
from .processing import WORKABLE, error_text

if TYPE_CHECKING:
    from .kit import RightsKit
    from .processing import Completion
    from .registry import AdapterProvider

log = logging.getLogger("shopprivacy.rights")

SALE_TOPIC = "rights.platform_sale_opt_out"


def ordering_key(kit: RightsKit, source: str, customer_id: str | None, email: str | None) -> str:
    """The outbox ordering key of one customer's opt-outs (no personal data in clear)."""
    who = kit.bidx("customer_id", customer_id) if customer_id else kit.bidx("email", email or "")
    return f"{SALE_TOPIC}:{source}:{who[:40]}"[:200]


def queue_platform_sale_opt_out(kit: RightsKit, request_id: str, source: str, customer_id: str | None,
                                email: str | None) -> None:
    """Queue the platform's opt-out for the request (once per request and source), after the rows still
    waiting for the same customer, whose requests it carries."""
    key = f"rights:{request_id}:{source}:sale_opt_out"[:200]
    order = ordering_key(kit, source, customer_id, email)
    with kit.store.begin() as conn:
        kit.store.lock(conn, order)
        earlier = [str(r) for p in kit.outbox.waiting(conn, order) for r in p.get("requests") or ()]
        payload = {"requests": list(dict.fromkeys([*earlier, request_id])), "source": source,
                   "customer": kit.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key) if customer_id
                   else None,
                   "email": kit.fields.encrypt(email, context=NOTICE_CONTEXT, row=key) if email else None}
        kit.outbox.enqueue(conn, SALE_TOPIC, payload, idempotency_key=key, ordering_key=order)


class PlatformSaleOptOut:
    """The outbox handler of :data:`SALE_TOPIC`."""

    def __init__(self, kit: RightsKit, adapter: AdapterProvider, completion: Completion) -> None:
        self.kit, self._adapter, self.completion = kit, adapter, completion

    def deliver(self, delivery: Delivery) -> None:
        """Opt the customer out on the platform; record the receipt of every request the row answers and
        finish them. A request closed meanwhile (rejected) is left out; a failure is recorded on the steps
        (still ``pending``) and re-raised for the outbox to retry."""
        p, kit = delivery.payload, self.kit
        source = str(p["source"])
        with kit.store.begin(write=False) as conn:
            rows = [records.load(conn, str(r)) for r in p.get("requests") or ()]
        rows = [r for r in rows if r.kind == "opt_out_sale" and r.state in WORKABLE]
        if not rows:
            log.info("sale opt-out row: every request it answers was closed meanwhile; skipped")
            return

        def plain(name: str) -> str | None:
            token = p.get(name)
            return None if not token else str(kit.fields.decrypt(token, context=NOTICE_CONTEXT,
                                                                 row=delivery.idempotency_key))

        sink = require(self._adapter(), SaleOptOutSink, "sale opt-out")
        try:
            got = sink.opt_out_of_sale(SaleOptOut(customer_id=plain("customer"), email=plain("email")),
                                       idempotency_key=delivery.idempotency_key)
        except Exception as exc:
            with kit.store.begin() as conn:
                for row in rows:
                    records.save_step(conn, row.id, source, status="pending", now=kit.clock(),
                                      error=error_text(source, exc), receipt=SourceReceipt(source, (FieldOutcome(
                                          "sale_opt_out", "pending", "queued for the platform; the last attempt "
                                          "failed and is retried"),), pending=True).to_json())
            raise
        line = (FieldOutcome("sale_opt_out", "opted_out", f"on {got.platform}: {got.where}"[:200], 1) if got.found
                else FieldOutcome("sale_opt_out", "not_held",
                                  (f"{got.platform} has no such customer" + (f" ({got.where})" if got.where else ""))
                                  [:200]))
        for row in rows:
            with kit.store.begin() as conn:
                records.save_step(conn, row.id, source, status="done", now=kit.clock(),
                                  receipt=SourceReceipt(source, (line,), rows=int(got.found)).to_json())
                kit.audit_request(conn, row, "rights.platform_sale_opt_out", actor="outbox", source=source[:200],
                                  found=got.found)
            self.completion.finish_if_complete(row.id)


__all__ = ["SALE_TOPIC", "PlatformSaleOptOut", "ordering_key", "queue_platform_sale_opt_out"]
