"""Rectification on the platform: a row in the outbox (:func:`queue_platform_rectify`), delivered in order per
customer by :class:`PlatformRectify` with the row's idempotency key, its receipt recorded on the request's step.

Rows of one customer share an ordering key (a keyed hash of the customer id, never the id itself): the outbox
delivers only the newest and supersedes older ones still waiting, so each row names every request whose
correction it carries (its own and those of the rows it supersedes), and the corrections are applied oldest
first: a later correction of a field wins, and none is lost. The corrections themselves are read from the
requests at delivery (a request closed meanwhile, e.g. rejected, is left out), and a new e-mail address or phone
is only written once it was confirmed through the link sent to it (:mod:`.identifier_change`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..platforms import CustomerRectifier, RectifyReceipt, require
from ..store.outbox import Delivery
from . import records
from .model import FieldOutcome, SourceReceipt
from .notices import NOTICE_CONTEXT
from .processing import WORKABLE, error_text

if TYPE_CHECKING:
    from .identifier_change import IdentifierChanges
    from .kit import RightsKit
    from .processing import Completion
    from .registry import AdapterProvider

log = logging.getLogger("shopprivacy.rights")

RECTIFY_TOPIC = "rights.platform_rectify"
#: Receipt reason of a new identifier the platform did not get because it was not confirmed.
UNCONFIRMED = "not changed on the platform: the new value was not confirmed through the link sent to it"


def ordering_key(kit: RightsKit, source: str, customer_id: str) -> str:
    """The outbox ordering key of one platform customer's corrections (no personal data in clear)."""
    return f"{RECTIFY_TOPIC}:{source}:{kit.bidx('customer_id', customer_id)[:40]}"[:200]


def queue_platform_rectify(kit: RightsKit, request_id: str, source: str, customer_id: str) -> None:
    """Queue the platform's correction of ``customer_id`` for the request (once per request and source), after
    the corrections still waiting for the same customer."""
    key = f"rights:{request_id}:{source}:rectify"[:200]
    order = ordering_key(kit, source, customer_id)
    with kit.store.begin() as conn:
        kit.store.lock(conn, order)  # two requests queued at once: the later row sees the earlier one
        earlier = [str(r) for p in kit.outbox.waiting(conn, order) for r in p.get("requests") or ()]
        ids = list(dict.fromkeys([*earlier, request_id]))
        token = kit.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key)
        kit.outbox.enqueue(conn, RECTIFY_TOPIC, {"requests": ids, "source": source, "customer": token},
                           idempotency_key=key, ordering_key=order)


def _outcome(name: str, got: RectifyReceipt, held: frozenset[str]) -> FieldOutcome:
    if name in held:
        return FieldOutcome(name, "manual", UNCONFIRMED)
    if not got.found:
        return FieldOutcome(name, "not_held", f"{got.platform} has no such customer")
    if name in got.corrected:
        return FieldOutcome(name, "corrected", f"on {got.platform}: {got.corrected[name]}"[:200], 1)
    return FieldOutcome(name, "manual", got.manual.get(name) or f"correct it in {got.platform}'s admin")


class PlatformRectify:
    """The outbox handler of :data:`RECTIFY_TOPIC`."""

    def __init__(self, kit: RightsKit, adapter: AdapterProvider, identifier_changes: IdentifierChanges,
                 completion: Completion) -> None:
        self.kit, self._adapter, self.completion = kit, adapter, completion
        self.identifier_changes = identifier_changes

    def _plans(self, ids: list[str]) -> list[tuple[Any, dict[str, str], frozenset[str]]]:
        """(request, its corrections, identifiers it changes without proof) for each request still open."""
        plans = []
        with self.kit.store.begin(write=False) as conn:
            for request_id in ids:
                row = records.load(conn, request_id)
                if row.kind != "rectify" or row.state not in WORKABLE:
                    log.info("rights request %s is %s; its platform correction is skipped", row.id, row.state)
                    continue
                subject = records.subject_of(self.kit.fields, conn, row)
                plans.append((row, self.identifier_changes.corrections(row),
                              self.identifier_changes.unconfirmed(conn, row, subject)))
        return plans

    def deliver(self, delivery: Delivery) -> None:
        """Apply the corrections of every request the row names, oldest first, in one platform write; record
        each request's receipt and finish the requests that have nothing else left. A failure is recorded on
        the steps (still ``pending``) and re-raised for the outbox to retry."""
        p, kit = delivery.payload, self.kit
        source = str(p["source"])
        plans = self._plans([str(r) for r in p.get("requests") or ()])
        if not plans:
            return
        merged: dict[str, str] = {}
        for _, changes, held in plans:
            merged.update({k: v for k, v in changes.items() if k not in held})
        customer = str(kit.fields.decrypt(p["customer"], context=NOTICE_CONTEXT, row=delivery.idempotency_key))
        host = require(self._adapter(), CustomerRectifier, "customer rectification")
        try:
            got = host.rectify_customer(customer, merged, idempotency_key=delivery.idempotency_key) if merged \
                else RectifyReceipt(platform=source.split(":", 1)[-1], customer_id=customer)
        except Exception as exc:
            with kit.store.begin() as conn:
                for row, changes, _ in plans:
                    records.save_step(conn, row.id, source, status="pending", now=kit.clock(),
                                      error=error_text(source, exc), receipt=SourceReceipt(source, tuple(
                                          FieldOutcome(k, "pending", "queued for the platform; the last attempt "
                                                       "failed and is retried") for k in sorted(changes)),
                                          pending=True).to_json())
            raise
        for row, changes, held in plans:
            fields = tuple(_outcome(k, got, held) for k in sorted(changes))
            with kit.store.begin() as conn:
                records.save_step(conn, row.id, source, status="done", now=kit.clock(),
                                  receipt=SourceReceipt(source, fields, rows=int(got.found)).to_json())
                corrected = tuple(f.field for f in fields if f.outcome == "corrected")
                if corrected:
                    kit.audit_request(conn, row, "rights.rectified", actor="outbox", fields=corrected,
                                      source=source[:200])
            self.completion.finish_if_complete(row.id)


__all__ = ["RECTIFY_TOPIC", "PlatformRectify", "ordering_key", "queue_platform_rectify"]
