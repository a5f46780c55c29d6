"""Single-use downloads of export archives through signed, expiring links."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ..errors import BadToken, ExpiredToken
from ..tokens import TokenSigner
from . import records
from .archive import open_sealed
from .model import RightsRequest
from .tables import exports

if TYPE_CHECKING:
    from .kit import RightsKit


class Downloads:
    """Links to an export (signed for ``rights-download``) and the one download each allows."""

    def __init__(self, kit: RightsKit) -> None:
        self.kit = kit
        self.signer = TokenSigner(kit.keyring, "rights-download")

    @property
    def _max_age(self) -> int:
        return self.kit.settings.download_days * 86400

    def link(self, request_id: str, nonce: str) -> str:
        """The link to the export of ``request_id`` whose archive row holds the hash of ``nonce``."""
        return self.kit.url("/rights/download", self.signer.sign({"r": request_id, "n": nonce}))

    def read(self, token: str) -> RightsRequest:
        """The request a download link is for (nothing used up); BadToken, ExpiredToken or NotFoundError."""
        payload = self.signer.verify(token, max_age_seconds=self._max_age)
        if not isinstance(payload.get("r"), str):
            raise BadToken("the download link is not valid")
        with self.kit.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, payload["r"]))

    def download(self, token: str) -> tuple[RightsRequest, bytes]:
        """The export zip, once: the archive is deleted in the same transaction that hands it out."""
        payload = self.signer.verify(token, max_age_seconds=self._max_age)
        rid, nonce = payload.get("r"), payload.get("n")
        if not isinstance(rid, str) or not isinstance(nonce, str):
            raise BadToken("the download link is not valid")
        kit, now = self.kit, self.kit.clock()
        with kit.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            exp = conn.execute(select(exports).where(exports.c.request_id == rid)).first()
            if exp is None or not hmac.compare_digest(exp.nonce_hash, hashlib.sha256(nonce.encode()).hexdigest()):
                raise BadToken("the download link is not valid")
            if exp.downloaded_at is not None or exp.archive is None or exp.expires_at <= now:
                raise ExpiredToken("this download was already used or has expired")
            conn.execute(update(exports).where(exports.c.request_id == rid).values(
                archive=None, wrapped_key=None, downloaded_at=now))
            kit.audit_request(conn, row, "rights.export_downloaded", actor="requester", size=exp.size)
            data = open_sealed(kit.fields, exp.archive, exp.wrapped_key, request_id=rid)
            return records.to_request(row), data
