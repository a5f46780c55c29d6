"""Erasure on the platform: a row in the outbox (:func:`queue_platform_erase`), delivered with the row's
idempotency key by :class:`PlatformErasure`, its receipt recorded on the request's step.

When the adapter can read a customer back (:class:`~shopprivacy.platforms.ErasureVerifier`), every erasure is
followed by a read-back (:class:`PlatformErasureCheck`, an outbox row of its own). The receipt then says
"erased on <platform>" and what the platform keeps and why; a platform that completes the erasure on its own
schedule (Shopify) is read again later. When the read-back still finds data, the erasure is sent again (with a
new idempotency key) up to :data:`ERASE_ROUNDS` times, then the step is flagged: a failure on the receipt, a
notice to the operator and a dead letter (requeue it once the data is gone to record the read-back).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from ..errors import PermanentFailure
from ..platforms import ErasureCheck, ErasureReceipt, ErasureVerifier, PersonalDataHost, require
from ..store.outbox import Delivery
from . import records
from .builtin import PLATFORM_TOPIC
from .model import FieldOutcome, SourceReceipt
from .notices import NOTICE_CONTEXT
from .processing import error_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .kit import RightsKit
    from .notices import NoticeQueue
    from .processing import Completion
    from .registry import AdapterProvider

log = logging.getLogger("shopprivacy.rights")

CHECK_TOPIC = "rights.platform_erase_check"
#: Erasures sent to a platform whose read-back still finds the customer's data, before the step is flagged.
ERASE_ROUNDS = 3
#: Read-backs of an erasure the platform completes on its own schedule, before the step is flagged.
PENDING_CHECKS = 30
#: Read an accepted erasure back again after this long when the platform gives no hint.
RECHECK_SECONDS = 24 * 3600.0
#: Operator notice of a platform erasure whose read-back never came back clean.
UNVERIFIED = "platform_erasure_unverified"
#: How the receipt lines of the read-back begin (the lines on the ``customer``).
READ_BACK = "read back: "


def _queue(kit: RightsKit, conn: Connection, topic: str, key: str, request_id: str, source: str, customer_id: str,
           *, delay: float = 0.0, **extra: int) -> None:
    """An erasure or read-back row, the customer id encrypted and bound to the row's key."""
    token = kit.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key[:200])
    kit.outbox.enqueue(conn, topic, {"request": request_id, "source": source, "customer": token, **extra},
                       idempotency_key=key[:200], delay=timedelta(seconds=max(0.0, delay)))


def _erase_key(request_id: str, source: str, round_: int) -> str:
    return f"rights:{request_id}:{source}" + (f":again{round_}" if round_ else "")


def _fields_of(got: ErasureReceipt) -> list[FieldOutcome]:
    fields = [*(FieldOutcome(f, "erased") for f in got.erased),
              *(FieldOutcome(f, "anonymised") for f in got.anonymised),
              *(FieldOutcome(f, "retained", reason) for f, reason in got.retained.items())]
    if got.pending:
        fields.append(FieldOutcome("customer", "pending", "accepted; the platform completes it on its side"))
    return fields


def queue_platform_erase(kit: RightsKit, request_id: str, source: str, customer_id: str) -> None:
    """Queue the platform's erasure of ``customer_id`` for the request (once per request and source)."""
    key = f"rights:{request_id}:{source}"[:200]
    token = kit.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key)
    with kit.store.begin(write=False) as conn:
        pseudonym = records.load(conn, request_id).subject
    # journaled first: a restored backup re-queues it (the customer only as the outbox row's encrypted token)
    seq = kit.journal_entry("platform", pseudonym=pseudonym, request_id=request_id,
                            work={"source": source, "key": key, "customer": token})
    with kit.store.begin() as conn:
        kit.outbox.enqueue(conn, PLATFORM_TOPIC, {"request": request_id, "source": source, "customer": token},
                           idempotency_key=key)
        kit.journal_applied(conn, seq)


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
        fields = _fields_of(got)
        verify = isinstance(host, ErasureVerifier)
        if verify and not got.pending:
            fields.append(FieldOutcome("customer", "pending", READ_BACK + "queued"))
        receipt = SourceReceipt(source, tuple(fields), rows=1, pending=got.pending)
        round_ = int(p.get("round", 0))
        with kit.store.begin() as conn:
            records.save_step(conn, row.id, source, status="accepted" if got.pending else
                              "pending" if verify else "done", now=kit.clock(), receipt=receipt.to_json())
            kit.audit_request(conn, row, "rights.source_erased", actor="outbox", source=source[:200],
                              fields=tuple(f.field for f in fields)[:50], pending=got.pending)
            if verify:
                _queue(kit, conn, CHECK_TOPIC, f"{_erase_key(row.id, source, round_)}:check0", row.id, source,
                       str(customer), round=round_, checks=0)
        self.completion.finish_if_complete(row.id)


class PlatformErasureCheck:
    """The outbox handler of :data:`CHECK_TOPIC`: reads the customer back after a platform erasure."""

    def __init__(self, kit: RightsKit, adapter: AdapterProvider, completion: Completion,
                 notices: NoticeQueue) -> None:
        self.kit, self._adapter, self.completion, self.notices = kit, adapter, completion, notices

    def deliver(self, delivery: Delivery) -> None:
        """Read back; record "erased on <platform>" and what it keeps, read again later, erase again, or flag
        (see the module docstring). A read-back that fails is re-raised for the outbox to retry."""
        p, kit = delivery.payload, self.kit
        source, request_id = str(p["source"]), str(p["request"])
        round_, checks = int(p.get("round", 0)), int(p.get("checks", 0))
        with kit.store.begin(write=False) as conn:
            row = records.load(conn, request_id)
        if row.state in ("rejected", "expired"):
            return
        customer = str(kit.fields.decrypt(p["customer"], context=NOTICE_CONTEXT, row=delivery.idempotency_key))
        check = require(self._adapter(), ErasureVerifier, "erasure read-back").verify_erasure(customer)
        flagged = False
        with kit.store.begin() as conn:
            step = records.step_rows(conn, row.id).get(source)
            base = tuple(f for f in SourceReceipt.from_json(step.receipt).fields
                         if not f.reason.startswith((READ_BACK, "kept: "))) if step is not None and step.receipt else ()
            status = "accepted" if step is not None and step.status == "accepted" else "pending"
            error: str | None = None
            held = ", ".join(check.remaining)[:120]
            # an erasure the platform accepted completes on its side: data still there is waited for
            waiting = check.pending or status == "accepted"
            if check.erased:
                status, lines = "done", _read_back_lines(check)
                base = tuple(f for f in base if f.field != "customer" and f.field not in check.retained)
                kit.audit_request(conn, row, "rights.platform_erasure_verified", actor="outbox", source=source[:200])
            elif waiting and checks + 1 < PENDING_CHECKS:
                lines = (FieldOutcome("customer", "pending", f"{READ_BACK}still on {check.platform}, which completes "
                                      "the erasure on its own schedule; read again later"),)
                _queue(kit, conn, CHECK_TOPIC, f"{_erase_key(row.id, source, round_)}:check{checks + 1}", row.id,
                       source, customer, delay=check.recheck_after or RECHECK_SECONDS, round=round_, checks=checks + 1)
            elif not waiting and round_ + 1 < ERASE_ROUNDS:
                lines = (FieldOutcome("customer", "pending", f"{READ_BACK}still held on {check.platform} ({held}); "
                                      f"erasure sent again ({round_ + 2}/{ERASE_ROUNDS})"),)
                _queue(kit, conn, PLATFORM_TOPIC, _erase_key(row.id, source, round_ + 1), row.id, source, customer,
                       round=round_ + 1)
            else:
                flagged, status = True, "pending"
                error = f"{source}: erasure not verified on the platform"[:200]
                lines = (FieldOutcome("customer", "manual", f"{READ_BACK}still held on {check.platform} ({held}) "
                                      f"after {round_ + 1} erasure(s) and {checks + 1} read-back(s); the operator "
                                      "was told"),)
                kit.audit_request(conn, row, "rights.platform_erasure_unverified", actor="outbox",
                                  source=source[:200], fields=tuple(check.remaining)[:50])
                if kit.settings.operator_email:
                    self.notices.notify(conn, row.id, UNVERIFIED, "operator", suffix=source)
            records.save_step(conn, row.id, source, status=status, now=kit.clock(), error=error,
                              receipt=SourceReceipt(source, (*base, *lines), rows=1,
                                                    pending=status == "accepted").to_json())
        if status == "done":
            self.completion.finish_if_complete(row.id)
        if flagged:
            log.warning("rights request %s: the platform erasure was not verified; the operator was told", row.id)
            raise PermanentFailure("the platform erasure was not verified by reading the customer back")


def _read_back_lines(check: ErasureCheck) -> tuple[FieldOutcome, ...]:
    return (FieldOutcome("customer", "erased", f"{READ_BACK}erased on {check.platform}", 1),
            *(FieldOutcome(name, "retained", f"kept: {reason}"[:200]) for name, reason in check.retained.items()))
