"""Requests that leave a state on the person rather than on their data: ``restrict`` (GDPR Art. 18),
``object`` to direct marketing and profiling (Art. 21) and ``opt_out_sale`` (CCPA/CPRA opt-out of sale/sharing).

Processing one writes the effect to the subject restrictions (:mod:`shopprivacy.store.restrictions`, by the blind
indexes of every verified identifier and of the platform customer they resolve to) in one transaction with its
step and audit entry. An objection also suppresses every address of the person on every list. An opt-out of
sale goes to the platform through the outbox (:mod:`.platform_sale`), in order per customer. Repeating a request
is harmless: the state is written again, the suppression is already there, the platform is told again with a
new key and changes nothing.

A restriction is lifted by the operator (:meth:`SubjectEffects.lift`, ``sp.rights.lift_restriction``), never by
time: Art. 18(3) wants the person told before it is lifted, so each request that placed it sends its requester
the ``restriction_lifted`` notice in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFoundError
from ..platforms import SaleOptOutSink
from ..store.restrictions import EFFECTS
from . import records
from .builtin import SDK_SOURCE
from .model import FieldOutcome, SourceReceipt, Subject, clean_text, parse_identity
from .processing import EFFECT_KINDS, WORKABLE, NoLongerOpen

if TYPE_CHECKING:
    from ..email.service import Email
    from ..store.restrictions import SubjectRestrictions
    from .kit import RightsKit
    from .notices import NoticeQueue
    from .processing import Completion
    from .registry import SourceRegistry

log = logging.getLogger("shopprivacy.rights")

#: Notice to the requester before a restriction they asked for is lifted (Art. 18(3)).
LIFTED = "restriction_lifted"
_WHAT = {
    "restrict": "processing restricted: data kept, not used for renewals, marketing, profiling, sale or exports "
                "to processors until lifted",
    "object": "objection to direct marketing and profiling recorded: no marketing on any list, no profiling",
    "opt_out_sale": "opted out of the sale and sharing of personal data",
}
_OUTCOME = {"restrict": "restricted", "object": "restricted", "opt_out_sale": "opted_out"}


class SubjectEffects:
    """Runs restrict, object and opt-out-of-sale requests, and lifts restrictions."""

    def __init__(self, kit: RightsKit, registry: SourceRegistry, email: Email, restrictions: SubjectRestrictions,
                 completion: Completion, notices: NoticeQueue, queue_sale: Any) -> None:
        self.kit, self.registry, self.email, self.restrictions = kit, registry, email, restrictions
        self.completion, self.notices, self._queue_sale = completion, notices, queue_sale

    def _customer_id(self, row: Any, subject: Subject) -> str | None:
        """The platform customer the subject is (so renewals and the platform find them by customer id)."""
        if subject.customer_id:
            return subject.customer_id
        platform = self.registry.platform_source
        if platform is None or row.forwarded_by == self.registry.platform_name():
            return None
        return platform.customer_id(subject)

    def apply(self, row: Any, subject: Subject) -> None:
        """Write the effect (and, for an objection, the suppressions), queue the platform's opt-out of sale,
        then close the request once nothing waits. A failure raises and the request is retried."""
        kit, effect = self.kit, str(row.kind)
        with kit.store.begin(write=False) as conn:
            steps = records.step_rows(conn, row.id)
        customer_id = self._customer_id(row, subject)
        identity = {"email": subject.email, "phone": subject.phone, "customer_id": customer_id}
        if steps.get(SDK_SOURCE) is None or steps[SDK_SOURCE].status != "done":
            lines: list[FieldOutcome] = []
            if effect == "object":
                addresses = [a for a in (subject.email, *(a for _, a in self.registry.sdk_source.linked(subject)))
                             if a]
                for address in dict.fromkeys(addresses):  # durable and idempotent, before the state row
                    self.email.suppress(address, "*", reason="objection")
                lines.append(FieldOutcome("email.suppression", "restricted",
                                          "every marketing list: suppressed (keyed hash of the address)",
                                          len(set(addresses))))
            keys = self.restrictions.keys(identity)
            with kit.store.begin() as conn:
                if records.load(conn, row.id, lock=True).state not in WORKABLE:
                    raise NoLongerOpen(f"request {row.id} was closed meanwhile")
                n = self.restrictions.place(conn, keys, effect, request_id=row.id, now=kit.clock())
                lines.insert(0, FieldOutcome("subject_state", _OUTCOME[effect], _WHAT[effect], n))
                records.save_step(conn, row.id, SDK_SOURCE, status="done", now=kit.clock(),
                                  receipt=SourceReceipt(SDK_SOURCE, tuple(lines), rows=n).to_json())
                kit.audit_request(conn, row, f"rights.{effect}", actor="rights",
                                  fields=tuple(sorted(k for k, v in identity.items() if v)))
        if effect == "opt_out_sale":
            self._platform(row, steps, subject, customer_id)
        self.completion.finish_if_complete(row.id)

    def _platform(self, row: Any, steps: Mapping[str, Any], subject: Subject, customer_id: str | None) -> None:
        platform = self.registry.platform_source
        if platform is None or row.forwarded_by == self.registry.platform_name():
            return
        name, kit = platform.name, self.kit
        step = steps.get(name)
        if step is not None and step.status in ("done", "pending"):
            return
        if customer_id is None and not subject.email:
            receipt, status = SourceReceipt(name, (FieldOutcome("customer", "not_held"),)), "done"
        elif not isinstance(platform.adapter, SaleOptOutSink):
            receipt, status = SourceReceipt(name, (FieldOutcome(
                "sale_opt_out", "manual", "this platform's adapter cannot record it: opt the customer out in the "
                "platform's admin"),)), "done"
        else:
            self._queue_sale(row.id, name, customer_id, subject.email)
            receipt, status = SourceReceipt(name, (FieldOutcome("sale_opt_out", "pending",
                                                                "queued for the platform"),), pending=True), "pending"
        with kit.store.begin() as conn:
            records.save_step(conn, row.id, name, status=status, now=kit.clock(), receipt=receipt.to_json())

    # -- lifting ------------------------------------------------------------------------------------------
    def lift(self, identity: Mapping[str, str], *, reason: str, effect: str = "restrict",
             actor: str = "operator") -> int:
        """Lift ``effect`` from the person (every identifier given); tell each requester who asked for it.
        Returns how many requests' effects were lifted (0: nothing was in place)."""
        if effect not in EFFECTS:
            raise InvalidInput(f"effect must be one of {', '.join(EFFECTS)}")
        ids = parse_identity(identity)
        reason = clean_text(reason, "reason")
        actor = clean_text(actor, "actor", 40)
        kit, now = self.kit, self.kit.clock()
        keys = self.restrictions.keys(ids)
        with kit.store.begin() as conn:
            request_ids = self.restrictions.lift(conn, keys, effect, reason=reason, now=now)
            for rid in request_ids:
                try:
                    row = records.load(conn, rid)
                except NotFoundError:
                    log.info("the request that placed a lifted %s is gone; nobody to tell", effect)
                    continue
                kit.audit_request(conn, row, "rights.restriction_lifted", actor=actor, effect=effect,
                                  reason=reason[:200])
                self.notices.notify_requester(conn, row, LIFTED, suffix=now.isoformat())
        log.info("%s lifted for %s request(s)", effect, len(request_ids))
        return len(request_ids)


__all__ = ["EFFECT_KINDS", "LIFTED", "SubjectEffects"]
