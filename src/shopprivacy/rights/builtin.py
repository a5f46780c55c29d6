"""Built-in sources: the SDK's own data (e-mail consent, suppression, cookie-consent proof, audit references,
earlier rights requests) and the platform adapter (export now, erasure through the outbox)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ShreddedError
from ..platforms import CustomerDirectory, CustomerRectifier, PersonalDataHost
from ..store.restrictions import customer_refs
from .model import FieldOutcome, SourceReceipt, Subject

if TYPE_CHECKING:
    from ..consent.service import Consent
    from ..email.service import Email
    from .history import EarlierRequests
    from .kit import RightsKit

PLATFORM_TOPIC = "rights.platform_erase"
SDK_SOURCE = "shopprivacy"


class SdkSource:
    """What the SDK itself holds about the subject: by its e-mail address, and by its customer id (the
    addresses the SDK recorded for that platform customer)."""

    name = SDK_SOURCE

    def __init__(self, kit: RightsKit, email: Email, consent: Consent, history: EarlierRequests) -> None:
        self.kit, self.email, self.consent, self.history = kit, email, consent, history

    def linked(self, subject: Subject) -> list[tuple[str, str | None]]:
        """(e-mail subject, address or None when shredded) recorded for the subject's customer id, other than
        the subject's own e-mail address."""
        if not subject.customer_id:
            return []
        own = self.email.subjects.subject_of(subject.email) if subject.email else None
        return [(sid, address) for sid, address in self.email.subjects.of_customer(customer_refs(subject.customer_id))
                if sid != own]

    def pseudonyms(self, subject: Subject) -> set[str]:
        """Every pseudonym the SDK used for the subject: its request's, its e-mail's and its customer's."""
        out = {subject.pseudonym} if subject.pseudonym else set()
        if subject.email:
            out.add(self.email.subjects.subject_of(subject.email))
        out.update(sid for sid, _ in self.linked(subject))
        return out

    def _addresses(self, subject: Subject) -> list[str]:
        found = [subject.email] if subject.email else []
        return found + [a for _, a in self.linked(subject) if a is not None and a not in found]

    def find(self, subject: Subject) -> int:
        return sum(len(self.email.subjects.history(a)) for a in self._addresses(subject))

    def _email_section(self, address: str) -> dict[str, Any]:
        email = self.email
        lists = {lid: {"suppressed": email.is_suppressed(address, lid),
                       "paused": email.is_paused(address, lid)} for lid in email.settings.lists}
        return {"on_file": email.subjects.on_file(address), "suppressed_everywhere": email.is_suppressed(address, None),
                "lists": lists, "consent_history": email.subjects.history(address)}

    def export(self, subject: Subject) -> Mapping[str, Any]:
        out: dict[str, Any] = {}
        if subject.email:
            out["email"] = self._email_section(subject.email)
        linked = [a for a in self._addresses(subject) if a != subject.email]
        if linked:  # addresses the SDK recorded for the customer id
            out["email_of_customer"] = [self._email_section(a) for a in linked]
        if subject.order_ids:
            out["platform_orders"] = list(subject.order_ids)
        consent_id = self.history.consent_id_of(subject.request_id)
        if consent_id:
            try:
                out["cookie_consent"] = self.consent.export(consent_id)
            except NotFoundError:
                out["cookie_consent"] = []
        pseudonyms = self.pseudonyms(subject)
        refs = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "fields": list(e.fields)}
                for p in sorted(pseudonyms) for e in self.kit.audit.entries(subject=p)]
        if refs:
            out["audit_references"] = sorted(refs, key=lambda r: r["at"])
        accesses = self._accesses(subject)
        if accesses:
            out["data_access"] = accesses
        earlier = self.history.requests_of(subject)
        if earlier:
            out["rights_requests"] = earlier
        return out

    def _accesses(self, subject: Subject) -> list[dict[str, Any]]:
        """Who read the subject's encrypted fields, when and for what purpose (``sp.fields`` readers)."""
        log = self.kit.fields.access_log
        if log is None:
            return []
        ids = set(self.pseudonyms(subject))
        if subject.customer_id:
            ids.update(customer_refs(subject.customer_id))
        return [{"at": a.at.isoformat(), "actor": a.actor, "role": a.role, "purpose": a.purpose,
                 "fields": list(a.fields), "reads": a.reads} for a in log.of(ids)]

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        new = changes.get("email")
        if not new or not subject.email or new == subject.email:
            return SourceReceipt(self.name)
        email = self.email
        if email.is_suppressed(subject.email, None):
            carried = ["*"]
        else:
            carried = [lid for lid in email.settings.lists if email.is_suppressed(subject.email, lid)]
        for lid in carried:  # an opt-out follows the person to the corrected address
            email.suppress(new, lid, reason="rectified")
        return SourceReceipt(self.name, (FieldOutcome("email_suppression", "corrected" if carried else "not_held",
                                                      "opt-outs carried to the corrected address", len(carried)),))

    def _forget(self, sid: str, address: str | None, request_id: str) -> bool:
        email = self.email
        if address is not None:
            # durable first: never mailed again (a retry after the shred finds the suppression already written)
            with contextlib.suppress(ShreddedError):
                email.suppress(address, "*", reason="erased")
        # the suppression's keyed hash too: a restored backup may predate it (never the address itself)
        work = {"suppress": email.subjects.blind_index(address)} if address is not None else None
        seq = self.kit.journal_entry("erase", pseudonym=sid, request_id=request_id or None, work=work)
        with self.kit.store.begin() as conn:
            email.subjects.forget(conn, sid)
            self.kit.journal_applied(conn, seq)
        return bool(self.kit.fields.shred(sid, actor="rights"))

    def erase(self, subject: Subject) -> SourceReceipt:
        outcomes: list[FieldOutcome] = []
        targets: list[tuple[str, str | None]] = []
        if subject.email:
            targets.append((self.email.subjects.subject_of(subject.email), subject.email))
        targets += self.linked(subject)  # what the SDK recorded for the customer id (e.g. customer.deleted)
        if targets:
            shredded = sum(self._forget(sid, address, subject.request_id) for sid, address in targets)
            n = len(targets)
            suppressed = sum(1 for _, a in targets if a is not None)
            outcomes += [
                FieldOutcome("email.address", "erased", "crypto-shredded" if shredded else "", n),
                FieldOutcome("email.platform_customer_id", "erased", rows=n),
                FieldOutcome("email.suppression", "retained",
                             "keyed hash of the address only, so it is never mailed again", suppressed),
                FieldOutcome("email.consent_history", "retained",
                             "proof of consent and opt-outs (GDPR Art. 7(1)), by keyed hash only", n),
            ]
        if subject.order_ids:
            outcomes.append(FieldOutcome("platform_orders", "manual",
                                         "orders the platform named: sources matching on order_id erase them "
                                         "(see their receipts); other systems holding them need it by hand",
                                         len(subject.order_ids)))
        if self.history.consent_id_of(subject.request_id):
            outcomes.append(FieldOutcome("cookie_consent", "retained",
                                         "anonymous proof of choices (Art. 7(1)); its link to the person is "
                                         "dropped with the request's identifiers", 1))
        outcomes.append(FieldOutcome("audit_log", "retained",
                                     "tamper-evident accountability record (Art. 5(2)): pseudonyms and field "
                                     "names, no values", 1))
        outcomes.append(FieldOutcome("rights_requests", "anonymised",
                                     "identifiers dropped, earlier exports shredded; blind indexes kept as proof",
                                     self.history.forget_earlier(subject, self.pseudonyms(subject))))
        return SourceReceipt(self.name, tuple(outcomes), rows=1)


class PlatformSource:
    """The platform adapter: export through ``PersonalDataHost.export_customer``; erasure and correction are rows
    in the outbox, delivered by ``run-due`` with retries and an idempotency key, their receipts recorded on
    delivery."""

    def __init__(self, adapter: PersonalDataHost, queue_erase: Callable[[str, str, str], None],
                 queue_rectify: Callable[[str, str, str], None] | None = None) -> None:
        self.adapter = adapter
        self._queue_erase, self._queue_rectify = queue_erase, queue_rectify
        self.name = f"platform:{getattr(adapter, 'name', 'platform')}"

    def customer_id(self, subject: Subject) -> str | None:
        if subject.customer_id:
            return subject.customer_id
        if subject.email and isinstance(self.adapter, CustomerDirectory):
            found = self.adapter.find_customer(email=subject.email)
            return None if found is None else found.id
        return None

    def find(self, subject: Subject) -> int:
        return 1 if self.customer_id(subject) else 0

    def export(self, subject: Subject) -> Mapping[str, Any]:
        cid = self.customer_id(subject)
        return {} if cid is None else dict(self.adapter.export_customer(cid))

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        """Queue the correction for the platform (an outbox row, in order per customer) when the adapter can
        correct customers; otherwise each field is listed for the platform's admin."""
        cid = self.customer_id(subject)
        if cid is None:
            return SourceReceipt(self.name)
        if self._queue_rectify is None or not isinstance(self.adapter, CustomerRectifier):
            return SourceReceipt(self.name, tuple(FieldOutcome(k, "manual", "correct it in the platform's admin")
                                                  for k in sorted(changes)))
        self._queue_rectify(subject.request_id, self.name, cid)
        return SourceReceipt(self.name, tuple(FieldOutcome(k, "pending", "queued for the platform")
                                              for k in sorted(changes)), pending=True)

    def erase(self, subject: Subject) -> SourceReceipt:
        cid = self.customer_id(subject)
        if cid is None:
            return SourceReceipt(self.name, (FieldOutcome("customer", "not_held"),))
        self._queue_erase(subject.request_id, self.name, cid)
        return SourceReceipt(self.name, (FieldOutcome("customer", "pending", "queued for the platform"),),
                             pending=True)


__all__ = ["PLATFORM_TOPIC", "SDK_SOURCE", "PlatformSource", "SdkSource"]
