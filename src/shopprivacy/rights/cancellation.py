"""The erasure grace window (``RightsSettings.erasure_grace_minutes``, off by default).

An erasure the requester confirms through the mailed link does not run at once: it waits ``cancel_until`` (the
due job runs it afterwards) and the requester gets an ``erasure_scheduled`` notice with a signed cancel link.
The link's page shows the request (GET) and cancels it (POST) until the window has passed; the request then
closes ``rejected`` with the reason :data:`CANCELLED`. Erasures a platform forwarded, or an operator opened
verified, have no window: no one was asked to confirm them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from ..errors import BadToken, ConflictError, ExpiredToken
from ..tokens import TokenSigner
from . import records
from .model import RightsRequest

if TYPE_CHECKING:
    from .kit import RightsKit
    from .notices import NoticeQueue

#: The reason a cancelled erasure is closed with.
CANCELLED = "cancelled by the requester within the grace window"
#: The message of the ExpiredToken raised for a cancel link already used.
USED = "this cancel link was already used"
#: The notice with the cancel link, queued when a confirmed erasure enters its window.
SCHEDULED = "erasure_scheduled"
#: Minutes a cancel link still answers after its window ("too late" rather than "not valid").
_AFTER = 24 * 60


class ErasureGrace:
    """Opens the window on confirmation, signs the cancel link, cancels within the window."""

    def __init__(self, kit: RightsKit, notices: NoticeQueue) -> None:
        self.kit, self.notices = kit, notices
        self.signer = TokenSigner(kit.keyring, "rights-cancel")

    @property
    def minutes(self) -> int:
        return self.kit.settings.erasure_grace_minutes

    def open_window(self, conn: Connection, row: Any, now: datetime) -> bool:
        """In the confirming transaction: hold a just-confirmed erasure for the window and mail the cancel link.
        False (nothing done) when the window is off or the request is not an erasure."""
        if self.minutes <= 0 or row.kind != "erase":
            return False
        until = now + timedelta(minutes=self.minutes)
        records.set_state(conn, row.id, now, cancel_until=until, next_attempt_at=until)
        self.kit.audit_request(conn, row, "rights.erasure_scheduled", actor="requester", minutes=self.minutes)
        self.notices.notify_requester(conn, row, SCHEDULED, link=self.link(row.id, until))
        return True

    def link(self, request_id: str, until: datetime) -> str:
        """The signed cancel link of the request, naming the end of its window."""
        return self.kit.url("/rights/cancel", self.signer.sign({"r": request_id, "u": int(until.timestamp())}))

    def _request_id(self, token: str) -> str:
        # the link outlives the window by a day so that a late click says "too late", not "invalid"
        payload = self.signer.verify(token, max_age_seconds=(self.minutes + _AFTER) * 60)
        rid, until = payload.get("r"), payload.get("u")
        if not isinstance(rid, str) or not isinstance(until, int) or isinstance(until, bool):
            raise BadToken("the cancel link is not valid")
        if self.kit.clock().timestamp() > until + _AFTER * 60:
            raise ExpiredToken("the cancel link has expired")
        return rid

    def _check(self, row: Any, now: datetime) -> None:
        if row.state == "rejected" and row.reject_reason == CANCELLED:
            raise ExpiredToken(USED)
        if row.kind != "erase" or row.cancel_until is None:
            raise BadToken("the cancel link is not valid")
        if row.state != "verified" or now >= row.cancel_until:
            raise ConflictError("the erasure already ran or is running; it can no longer be cancelled")

    def read(self, token: str) -> RightsRequest:
        """The erasure a cancel link is for, while it can be cancelled (no change). BadToken, ExpiredToken
        (expired, or :data:`USED`), ConflictError (already run) or NotFoundError."""
        rid = self._request_id(token)
        with self.kit.store.begin(write=False) as conn:
            row = records.load(conn, rid)
        self._check(row, self.kit.clock())
        return records.to_request(row)

    def cancel(self, token: str) -> RightsRequest:
        """Cancel the erasure (once; audited). Same errors as :meth:`read`."""
        rid = self._request_id(token)
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            self._check(row, now)
            records.set_state(conn, rid, now, state="rejected", reject_reason=CANCELLED, completed_at=now,
                              next_attempt_at=None)
            kit.audit_request(conn, row, "rights.cancelled", actor="requester")
            return records.to_request(records.load(conn, rid))
