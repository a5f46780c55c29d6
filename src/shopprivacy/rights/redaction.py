"""Shop redaction (the platform's ``shop/redact``): every shop source's ``erase_all``, then the SDK's personal
data. Other capabilities' data goes through their public API (``fields.shred_all``, ``email.forget_all``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from ..errors import InvalidInput
from .model import OPEN_STATES, FieldOutcome, SourceReceipt
from .processing import error_text
from .tables import exports, identifiers, redactions, requests

if TYPE_CHECKING:
    from ..email.service import Email
    from .kit import RightsKit
    from .registry import SourceRegistry


class ShopRedaction:
    """Removes what the SDK and the shop sources hold for a whole shop, once per ``external_id``."""

    def __init__(self, kit: RightsKit, registry: SourceRegistry, email: Email) -> None:
        self.kit, self.registry, self.email = kit, registry, email

    def _erase_shop_sources(self) -> tuple[list[dict[str, Any]], list[str]]:
        receipts: list[dict[str, Any]] = []
        failed: list[str] = []
        for src in self.registry.shop():
            erase_all = getattr(src, "erase_all", None)
            if erase_all is None:
                receipts.append(SourceReceipt(src.name, (FieldOutcome("*", "manual", "the source has no erase_all"),))
                                .to_json())
                continue
            try:
                receipts.append(erase_all().to_json())
            except Exception as exc:  # noqa: BLE001 - recorded; the redaction is retried with the same id
                failed.append(error_text(src.name, exc))
        return receipts, failed

    def redact_shop(self, *, external_id: str) -> Mapping[str, Any]:
        """Every shop source's ``erase_all``, then the SDK's personal data: all subject keys shredded, addresses
        and identifiers dropped, exports deleted, open requests closed. Idempotent by ``external_id``."""
        if not isinstance(external_id, str) or not 0 < len(external_id) <= 200 or not external_id.isprintable():
            raise InvalidInput("external_id must be 1-200 printable characters")
        kit = self.kit
        with kit.store.begin(write=False) as conn:
            done = conn.execute(select(redactions).where(redactions.c.external_id == external_id)).first()
        if done is not None and done.state == "done":
            return dict(done.receipt)
        received = done.received_at if done is not None else kit.clock()
        receipts, failed = self._erase_shop_sources()
        now = kit.clock()
        with kit.store.begin() as conn:
            keys = kit.fields.shred_all(conn=conn)
            addresses = self.email.subjects.forget_all(conn)
            conn.execute(update(identifiers).values(value=None))
            conn.execute(update(exports).values(archive=None, wrapped_key=None))
            closed = conn.execute(update(requests).where(requests.c.state.in_(sorted(OPEN_STATES))).values(
                state="rejected", reject_reason="the shop's data was redacted", completed_at=now,
                updated_at=now)).rowcount
            conn.execute(update(requests).values(changes=None, consent_ref=None, orders=None))
            sdk = SourceReceipt("shopprivacy", (
                FieldOutcome("subject_keys", "erased", "crypto-shredded: every subject-key token is unreadable",
                             keys),
                FieldOutcome("email.address", "erased", rows=addresses),
                FieldOutcome("rights_requests", "anonymised", "identifiers and exports dropped; open ones closed",
                             closed),
                FieldOutcome("email.suppression", "retained", "keyed hashes only"),
                FieldOutcome("subject_restrictions", "retained", "keyed hashes only: a restriction, objection or "
                             "opt-out of sale outlives the shop's data"),
                FieldOutcome("audit_log", "retained", "pseudonyms and field names only (Art. 5(2))"),
            ))
            receipt = {"external_id": external_id, "state": "failed" if failed else "done",
                       "sources": [*receipts, sdk.to_json()], "failures": failed, "completed_at": now.isoformat()}
            values = {"state": receipt["state"], "receipt": receipt, "completed_at": None if failed else now}
            if done is None:
                conn.execute(redactions.insert().values(external_id=external_id, received_at=received, **values))
            else:
                conn.execute(update(redactions).where(redactions.c.external_id == external_id).values(**values))
            kit.audit.append(conn, actor="platform", action="rights.shop_redacted",
                             meta={"external": hashlib.sha256(external_id.encode()).hexdigest()[:16],
                                   "state": receipt["state"], "keys_shredded": keys})
        return receipt
