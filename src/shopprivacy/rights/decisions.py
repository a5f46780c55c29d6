"""The operator's decisions on a request: extend its deadline once, reject it, each with a reason, or answer a
question or complaint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConflictError, InvalidInput
from . import records
from .deadlines import due_dates
from .model import FEEDBACK_KINDS, OPEN_STATES, RightsRequest, parse_message

if TYPE_CHECKING:
    from .kit import RightsKit
    from .notices import NoticeQueue


def _reason(reason: object, what: str) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise InvalidInput(f"{what} needs a reason of 1-200 characters")
    return reason.strip()


class Decisions:
    """Extensions and rejections, audited and told to the requester."""

    def __init__(self, kit: RightsKit, notices: NoticeQueue) -> None:
        self.kit, self.notices = kit, notices

    def extend(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Extend once (GDPR: to three months from receipt; CCPA: to 90 days), telling the requester why."""
        why = _reason(reason, "an extension")
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.state not in OPEN_STATES or row.extended_at is not None:
                raise ConflictError(f"request {row.id} is {row.state} and cannot be extended"
                                    + (" again" if row.extended_at else ""))
            if row.verified_at is None:
                raise ConflictError(f"request {row.id} is not verified; only a verified request can be extended")
            due = due_dates(row.regime, row.received_at, kit.settings.holidays).extended_due_at
            records.set_state(conn, row.id, now, state="extended", extended_at=now, extension_reason=why,
                              due_at=due, reminded_at=None)
            kit.audit_request(conn, row, "rights.extended", actor=actor, due=due.date().isoformat())
            self.notices.notify_requester(conn, row, "extended")
            return records.to_request(records.load(conn, row.id))

    def reject(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Refuse a request (e.g. manifestly unfounded, or a legal obligation to keep the data), with reason."""
        why = _reason(reason, "a rejection")
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.state not in OPEN_STATES:
                raise ConflictError(f"request {row.id} is already {row.state}")
            records.set_state(conn, row.id, now, state="rejected", reject_reason=why, completed_at=now)
            kit.audit_request(conn, row, "rights.rejected", actor=actor)
            self.notices.notify_requester(conn, row, "rejected")
            return records.to_request(records.load(conn, row.id))

    def message(self, request_id: str) -> str:
        """The message of a question or complaint (decrypted for the operator; audited)."""
        kit = self.kit
        with kit.store.begin() as conn:
            row = records.load(conn, request_id)
            if row.kind not in FEEDBACK_KINDS:
                raise ConflictError(f"request {row.id} is a {row.kind} request, which carries no message")
            kit.audit_request(conn, row, "rights.message_read")
            data = kit.fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
        return str(data["message"]) if isinstance(data, dict) else ""

    def answer(self, request_id: str, text: str, *, actor: str = "operator") -> RightsRequest:
        """Answer a verified question or complaint: the request is done and the requester gets the answer."""
        answer = parse_message(text, "an answer")
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.kind not in FEEDBACK_KINDS:
                raise ConflictError(f"request {row.id} is a {row.kind} request: it is processed, not answered")
            if row.state not in OPEN_STATES or row.verified_at is None:
                raise ConflictError(f"request {row.id} is {row.state}"
                                    f"{'' if row.verified_at else ', not verified'}; only an open, verified "
                                    "question or complaint is answered")
            records.set_state(conn, row.id, now, state="done", completed_at=now, next_attempt_at=None)
            kit.audit_request(conn, row, "rights.answered", actor=actor)
            self.notices.notify_requester(conn, row, "answered", message=answer)
            return records.to_request(records.load(conn, row.id))
