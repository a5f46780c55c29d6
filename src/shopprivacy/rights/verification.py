"""Verification of a request's identifiers through the signed links sent to each of them."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ..errors import BadToken, ExpiredToken
from ..tokens import TokenSigner
from . import records
from .model import IDENTIFIERS, OPEN_STATES, RightsRequest
from .tables import identifiers

if TYPE_CHECKING:
    from .cancellation import ErasureGrace
    from .kit import RightsKit


class Verification:
    """Links signed for ``rights-verify``: one per identifier, each making only that identifier usable."""

    def __init__(self, kit: RightsKit, grace: ErasureGrace | None = None) -> None:
        self.kit, self.grace = kit, grace
        self.signer = TokenSigner(kit.keyring, "rights-verify")

    @property
    def _max_age(self) -> int:
        return self.kit.settings.verify_max_age_hours * 3600

    def link(self, request_id: str, kind: str, bidx: str) -> str:
        """The link that verifies the identifier ``kind`` (blind index ``bidx``) of the request."""
        return self.kit.url("/rights/verify", self.signer.sign({"r": request_id, "k": kind, "b": bidx}))

    def read(self, token: str) -> RightsRequest:
        """The request a verification link is for (no change); BadToken, ExpiredToken or NotFoundError."""
        payload = self.signer.verify(token, max_age_seconds=self._max_age)
        if not isinstance(payload.get("r"), str):
            raise BadToken("the verification link is not valid")
        with self.kit.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, payload["r"]))

    def verify(self, token: str) -> RightsRequest:
        """Verify the identifier a link was sent to. Idempotent; only that identifier becomes usable."""
        payload = self.signer.verify(token, max_age_seconds=self._max_age)
        rid, kind, bidx = payload.get("r"), payload.get("k"), payload.get("b")
        if not isinstance(rid, str) or kind not in IDENTIFIERS or not isinstance(bidx, str):
            raise BadToken("the verification link is not valid")
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            ident = conn.execute(select(identifiers).where(identifiers.c.request_id == rid,
                                                           identifiers.c.kind == kind)).first()
            if ident is None or not hmac.compare_digest(ident.bidx, bidx):
                raise BadToken("the verification link is not valid")
            if row.state not in OPEN_STATES:
                raise ExpiredToken("the request was closed; please make a new one")
            if ident.verified_at is None and row.verify_expires_at <= now:
                raise ExpiredToken("the verification link has expired")
            if ident.verified_at is None:
                conn.execute(update(identifiers).where(identifiers.c.request_id == rid, identifiers.c.kind == kind)
                             .values(verified_at=now))
                if row.verified_at is None:
                    records.set_state(conn, rid, now, verified_at=now, verified_by="link",
                                      state="verified" if row.state == "received" else row.state)
                restarted = records.restart_steps(conn, rid, now)
                kit.audit_request(conn, row, "rights.verified", actor="requester", fields=(kind,),
                                  restarted=restarted or None)
                if self.grace is not None and row.verified_at is None and row.state == "received":
                    self.grace.open_window(conn, row, now)  # a confirmed erasure may wait, cancellable
            return records.to_request(records.load(conn, rid))
