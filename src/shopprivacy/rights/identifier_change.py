"""Corrections that change an identifier (e-mail address, phone): proof of control of the new value.

A correction of an identifier moves whatever is reached or logged into with it: a shop's login follows the
e-mail's blind index, the SDK and the platform find people by e-mail, sources matching on the phone find them
by phone (:meth:`IdentifierChanges.identifying`). Confirming the request from the current address is
therefore not enough: once it is verified, the request waits (``awaiting_new``)
and a single-use link goes to the **new** value; only when that link is followed is anything corrected. The
previous address is then told (``identifier_changed``). Pages and notices show both values masked only.

The new value is kept like the request's other identifiers, as a row of ``sp_rights_identifiers`` of kind
``new_email`` / ``new_phone`` (a token bound to its row, and a blind index); its ``verified_at`` records the
proof. Such rows never identify the requester: they are left out of the request's subject, of merging and
of notices to the requester, and an unconfirmed one never links the request to the new value's owner.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection

from ..errors import BadToken, ConflictError, ExpiredToken, TokenError
from ..tokens import TokenSigner
from . import records
from .masking import MaskedChange, mask
from .model import AUTHENTICATING, OPEN_STATES, RightsRequest, Subject
from .tables import identifiers, requests

if TYPE_CHECKING:
    from .kit import RightsKit
    from .notices import NoticeQueue
    from .registry import SourceRegistry

log = logging.getLogger("shopprivacy.rights")

#: State of a verified request waiting for its new identifier to be confirmed.
AWAITING = "awaiting_new"
#: Notice with the link to the new value, and notice to the previous value once the correction is made.
VERIFY_NEW = "verify_new"
CHANGED = "identifier_changed"
#: Message of the ExpiredToken raised for a link used before (pages answer 410 Gone).
USED = "this confirmation link was already used"
_PREFIX = "new_"
_BIDX = re.compile(r"[0-9a-f]{4,64}")  # a blind index: 16-256 bits in hex
PROOF_KINDS: tuple[str, ...] = tuple(_PREFIX + k for k in AUTHENTICATING)


def proof_kind(kind: str) -> str:
    """The identifier row kind that holds the new value of ``kind`` (``email`` -> ``new_email``)."""
    return _PREFIX + kind


class IdentifierChanges:
    """The proof step of corrections that change an identifier; reach it as ``sp.rights.identifier_changes``.

    It is a part of :class:`~.service.Rights` and uses its notices, audit and blind indexes; the links are
    signed for their own purpose (``rights-verify-new``), so a link of another kind never confirms one.
    """

    def __init__(self, kit: RightsKit, notices: NoticeQueue, registry: SourceRegistry) -> None:
        self.kit, self.notices, self.registry = kit, notices, registry
        self._signer = TokenSigner(kit.keyring, "rights-verify-new")

    @property
    def max_age(self) -> timedelta:
        """How long a link to a new value is valid: ``verify_max_age_hours``, from when it was issued."""
        return timedelta(hours=self.kit.settings.verify_max_age_hours)

    # -- what a correction changes -------------------------------------------------------------------------
    def corrections(self, row: Any) -> dict[str, str]:
        """The request's corrections (field -> new value); empty when there are none, they were dropped or
        cannot be read (processing then fails and retries: nothing is corrected either way)."""
        if row.changes is None:
            return {}
        try:
            value = self.kit.fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
        except TokenError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    def identifying(self) -> frozenset[str]:
        """The correctable identifiers people are found or signed in by here: the e-mail address always (the
        SDK's own data, the platform's customer lookup and shop logins go by it), the phone when a registered
        source matches on it (``TableSource(match="phone")``, ``ModelSource(match="phone")``, or any source
        with ``match = "phone"``)."""
        matched = {getattr(source, "match", None) for source in self.registry.shop()}
        return frozenset({"email", *(k for k in AUTHENTICATING if k in matched)})

    def changed_identifiers(self, changes: Mapping[str, str], subject: Subject) -> dict[str, str]:
        """The identifying fields ``changes`` really change (kind -> new value): a value equal to the subject's
        verified current one changes nothing."""
        identifying = self.identifying()
        return {k: v for k in AUTHENTICATING if k in identifying and (v := changes.get(k)) and v != subject.get(k)}

    def unconfirmed(self, conn: Connection, row: Any, subject: Subject) -> frozenset[str]:
        """The identifiers the request changes whose new value was not (yet) confirmed through its link: such a
        value is never written anywhere, the platform included."""
        wanted = self.changed_identifiers(self.corrections(row), subject)
        proofs = {i.kind: i for i in records.identifier_rows(conn, row.id) if i.kind in PROOF_KINDS}
        return frozenset(k for k, v in wanted.items() if (p := proofs.get(proof_kind(k))) is None
                         or p.verified_at is None or not hmac.compare_digest(p.bidx, self.kit.bidx(k, v)))

    # -- processing ----------------------------------------------------------------------------------------
    def hold(self, conn: Connection, row: Any, subject: Subject, now: datetime) -> bool:
        """Whether the verified request ``row`` must wait for the new value of an identifier it changes.

        Runs in the caller's transaction, under the request's lock, before anything is corrected. The first
        time, each new value is stored (encrypted) and its link queued in the outbox; the request is then
        ``awaiting_new`` until every link was followed (:meth:`confirm`).
        """
        wanted = self.changed_identifiers(self.corrections(row), subject)
        if not wanted:
            return False
        proofs = {i.kind: i for i in records.identifier_rows(conn, row.id) if i.kind in PROOF_KINDS}
        missing: list[str] = []
        for kind, value in wanted.items():
            bidx = self.kit.bidx(kind, value)
            proof = proofs.get(proof_kind(kind))
            if proof is not None and proof.verified_at is not None and hmac.compare_digest(proof.bidx, bidx):
                continue
            missing.append(kind)
            if proof is None:
                records.add_identifier(self.kit.fields, conn, row.id, proof_kind(kind), value, bidx=bidx,
                                       origin="change", verified_at=None, now=now)
                self.notices.notify(conn, row.id, VERIFY_NEW, proof_kind(kind))
        if not missing:
            return False
        if row.state != AWAITING:
            records.set_state(conn, row.id, now, state=AWAITING, next_attempt_at=None)
            self.kit.audit_request(conn, row, "rights.awaiting_new", fields=tuple(missing))
            log.info("rights request %s waits for its new %s to be confirmed", row.id, ", ".join(missing))
        return True

    def announce(self, conn: Connection, row: Any, changes: Mapping[str, str], subject: Subject) -> None:
        """Queue ``identifier_changed`` to the previous value of each identifier the finished request changed
        (the address or phone the request was verified with), else to the requester."""
        changed = self.changed_identifiers(changes, subject)
        if not changed:
            return
        previous = [k for k in changed if subject.get(k)]
        for kind in previous:
            self.notices.notify(conn, row.id, CHANGED, kind)
        if not previous:
            self.notices.notify_requester(conn, row, CHANGED)

    def expire_unconfirmed(self, conn: Connection, now: datetime) -> int:
        """Expire requests whose link to a new value was not followed in time; nothing was corrected."""
        late = select(identifiers.c.request_id).where(identifiers.c.kind.in_(PROOF_KINDS),
                                                      identifiers.c.verified_at.is_(None),
                                                      identifiers.c.created_at <= now - self.max_age)
        rows = conn.execute(select(requests).where(requests.c.state == AWAITING, requests.c.id.in_(late))).all()
        for row in rows:
            records.set_state(conn, row.id, now, state="expired", completed_at=now, next_attempt_at=None)
            self.kit.audit_request(conn, row, "rights.expired", unconfirmed="new identifier")
        return len(rows)

    # -- the link to the new value -------------------------------------------------------------------------
    def link(self, request_id: str, proof: Any) -> str:
        """The signed link that confirms the new value held in the identifier row ``proof``."""
        token = self._signer.sign({"r": request_id, "k": proof.kind[len(_PREFIX):], "b": proof.bidx})
        return self.kit.url("/rights/verify-new", token)

    def _payload(self, token: str) -> tuple[str, str, str]:
        payload = self._signer.verify(token, max_age_seconds=self.max_age.total_seconds())
        rid, kind, bidx = payload.get("r"), payload.get("k"), payload.get("b")
        if not isinstance(rid, str) or kind not in AUTHENTICATING or not isinstance(bidx, str) \
                or not _BIDX.fullmatch(bidx):
            raise BadToken("the confirmation link is not valid")
        return rid, str(kind), bidx

    def _usable(self, conn: Connection, row: Any, kind: str, bidx: str, now: datetime) -> Any:
        """The identifier row the link is for; BadToken, ConflictError (request closed) or ExpiredToken
        (already used, or issued too long ago)."""
        proof = conn.execute(select(identifiers).where(identifiers.c.request_id == row.id,
                                                       identifiers.c.kind == proof_kind(kind))).first()
        if proof is None or not hmac.compare_digest(proof.bidx, bidx):
            raise BadToken("the confirmation link is not valid")
        if row.state not in OPEN_STATES:
            raise ConflictError("the request was closed; please make a new one")
        if proof.verified_at is not None:
            raise ExpiredToken(USED)
        if proof.created_at + self.max_age <= now:
            raise ExpiredToken("the confirmation link has expired")
        return proof

    def read(self, token: str) -> tuple[RightsRequest, tuple[MaskedChange, ...]]:
        """What a link to a new value is for, changing nothing: the request and its corrections, masked."""
        rid, kind, bidx = self._payload(token)
        with self.kit.store.begin(write=False) as conn:
            row = records.load(conn, rid)
            self._usable(conn, row, kind, bidx, self.kit.clock())
            return records.to_request(row), self.shown_for(conn, row)

    def confirm(self, token: str) -> RightsRequest:
        """Record that the new value is controlled by the requester (the link was followed), once. When no
        other new value is awaited, the request is ready again and ``run-due`` makes the correction."""
        rid, kind, bidx = self._payload(token)
        now = self.kit.clock()
        with self.kit.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            proof = self._usable(conn, row, kind, bidx, now)
            used = conn.execute(sql_update(identifiers).where(
                identifiers.c.request_id == rid, identifiers.c.kind == proof.kind,
                identifiers.c.verified_at.is_(None)).values(verified_at=now)).rowcount
            if used != 1:
                raise ExpiredToken(USED)
            awaited = [i for i in records.identifier_rows(conn, rid) if i.kind in PROOF_KINDS and i.verified_at is None]
            if row.state == AWAITING and not awaited:
                records.set_state(conn, rid, now, state="verified", next_attempt_at=None)
            self.kit.audit_request(conn, row, "rights.new_identifier_verified", actor="requester", fields=(kind,))
            return records.to_request(records.load(conn, rid))

    # -- display -------------------------------------------------------------------------------------------
    def shown(self, request_id: str) -> tuple[MaskedChange, ...]:
        """The corrections of a request as pages and notices show them: identifiers first, values masked."""
        with self.kit.store.begin(write=False) as conn:
            return self.shown_for(conn, records.load(conn, request_id))

    def shown_for(self, conn: Connection, row: Any) -> tuple[MaskedChange, ...]:
        changes = self.corrections(row)
        if not changes:
            return ()
        current: dict[str, str] = {}
        for ident in records.identifier_rows(conn, row.id):
            value = records.decrypt_identifier(self.kit.fields, ident) if ident.kind in AUTHENTICATING else None
            if value is not None:
                current[ident.kind] = value
        identifying = self.identifying()
        order = [*(k for k in AUTHENTICATING if k in changes), *sorted(k for k in changes if k not in AUTHENTICATING)]
        return tuple(MaskedChange(name, mask(name, current[name]) if name in current else None,
                                  mask(name, changes[name]),
                                  needs_proof=name in identifying and changes[name] != current.get(name))
                     for name in order)
