"""Built-in sources: the SDK's own data (e-mail consent, suppression, cookie-consent proof, audit references,
earlier rights requests) and the platform adapter (export now, erasure through the outbox)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..email.tables import email_subjects
from ..errors import NotFoundError, ShreddedError, TokenError
from ..platforms import CustomerDirectory, PersonalDataHost
from .model import FieldOutcome, SourceReceipt, Subject

if TYPE_CHECKING:
    from .service import Rights

PLATFORM_TOPIC = "rights.platform_erase"
SDK_SOURCE = "shopprivacy"


class SdkSource:
    """What the SDK itself holds about the subject."""

    name = SDK_SOURCE

    def __init__(self, rights: Rights) -> None:
        self.rights = rights
        self.sp = rights.sp

    def find(self, subject: Subject) -> int:
        return len(self.sp.email.history(subject.email)) if subject.email else 0

    def _address_on_file(self, email: str) -> dict[str, Any] | None:
        sid = self.sp.email.subject_of(email)
        with self.sp.store.begin(write=False) as conn:
            row = conn.execute(select(email_subjects).where(email_subjects.c.subject == sid)).first()
        if row is None:
            return None
        try:
            address = self.sp.fields.decrypt(row.address, context="sp_email_subjects.address", row=row.subject)
        except (ShreddedError, TokenError):
            address = "[crypto-shredded]"
        return {"address": address, "platform_customer_id": row.customer_ref,
                "first_seen": row.created_at.isoformat()}

    def export(self, subject: Subject) -> Mapping[str, Any]:
        out: dict[str, Any] = {}
        email = self.sp.email
        if subject.email:
            lists = {lid: {"suppressed": email.is_suppressed(subject.email, lid),
                           "paused": email.is_paused(subject.email, lid)} for lid in email.settings.lists}
            out["email"] = {"on_file": self._address_on_file(subject.email),
                            "suppressed_everywhere": email.is_suppressed(subject.email, None),
                            "lists": lists, "consent_history": email.history(subject.email)}
        consent_id = self.rights.consent_id_of(subject.request_id)
        if consent_id:
            try:
                out["cookie_consent"] = self.sp.consent.export(consent_id)
            except NotFoundError:
                out["cookie_consent"] = []
        pseudonyms = self.rights.pseudonyms(subject)
        refs = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "fields": list(e.fields)}
                for p in sorted(pseudonyms) for e in self.sp.audit.entries(subject=p)]
        if refs:
            out["audit_references"] = sorted(refs, key=lambda r: r["at"])
        earlier = self.rights.requests_of(subject)
        if earlier:
            out["rights_requests"] = earlier
        return out

    def rectify(self, subject: Subject, changes: Mapping[str, str]) -> SourceReceipt:
        new = changes.get("email")
        if not new or not subject.email or new == subject.email:
            return SourceReceipt(self.name)
        email = self.sp.email
        if email.is_suppressed(subject.email, None):
            carried = ["*"]
        else:
            carried = [lid for lid in email.settings.lists if email.is_suppressed(subject.email, lid)]
        for lid in carried:  # an opt-out follows the person to the corrected address
            email.suppress(new, lid, reason="rectified")
        return SourceReceipt(self.name, (FieldOutcome("email_suppression", "corrected" if carried else "not_held",
                                                      "opt-outs carried to the corrected address", len(carried)),))

    def erase(self, subject: Subject) -> SourceReceipt:
        outcomes: list[FieldOutcome] = []
        if subject.email:
            email = self.sp.email
            # durable first: never mailed again (a retry after the shred finds the suppression already written)
            with contextlib.suppress(ShreddedError):
                email.suppress(subject.email, "*", reason="erased")
            sid = email.subject_of(subject.email)
            with self.sp.store.begin() as conn:
                email.forget_subject(conn, sid)
            shredded = self.sp.fields.shred(sid, actor="rights")
            outcomes += [
                FieldOutcome("email.address", "erased", "crypto-shredded" if shredded else "", 1),
                FieldOutcome("email.platform_customer_id", "erased", rows=1),
                FieldOutcome("email.suppression", "retained",
                             "keyed hash of the address only, so it is never mailed again", 1),
                FieldOutcome("email.consent_history", "retained",
                             "proof of consent and opt-outs (GDPR Art. 7(1)), by keyed hash only", 1),
            ]
        if self.rights.consent_id_of(subject.request_id):
            outcomes.append(FieldOutcome("cookie_consent", "retained",
                                         "anonymous proof of choices (Art. 7(1)); its link to the person is "
                                         "dropped with the request's identifiers", 1))
        outcomes.append(FieldOutcome("audit_log", "retained",
                                     "tamper-evident accountability record (Art. 5(2)): pseudonyms and field "
                                     "names, no values", 1))
        outcomes.append(FieldOutcome("rights_requests", "anonymised",
                                     "identifiers dropped, earlier exports shredded; blind indexes kept as proof",
                                     self.rights.forget_earlier(subject)))
        return SourceReceipt(self.name, tuple(outcomes), rows=1)


class PlatformSource:
    """The platform adapter: export through ``PersonalDataHost.export_customer``; erasure is a row in the
    outbox, delivered by ``run-due`` with retries and an idempotency key, its receipt recorded on delivery."""

    def __init__(self, rights: Rights, adapter: PersonalDataHost) -> None:
        self.rights = rights
        self.adapter = adapter
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
        if self.customer_id(subject) is None:
            return SourceReceipt(self.name)
        return SourceReceipt(self.name, tuple(FieldOutcome(k, "manual", "correct it in the platform's admin")
                                              for k in sorted(changes)))

    def erase(self, subject: Subject) -> SourceReceipt:
        cid = self.customer_id(subject)
        if cid is None:
            return SourceReceipt(self.name, (FieldOutcome("customer", "not_held"),))
        self.rights.queue_platform_erase(subject.request_id, self.name, cid)
        return SourceReceipt(self.name, (FieldOutcome("customer", "pending", "queued for the platform"),),
                             pending=True)


__all__ = ["PLATFORM_TOPIC", "SDK_SOURCE", "PlatformSource", "SdkSource"]
