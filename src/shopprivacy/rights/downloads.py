"""Single-use downloads of export archives through signed, expiring links."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update

from ..errors import BadToken, ExpiredToken
from ..tokens import TokenSigner
from . import records
from .archive import open_sealed
from .model import RightsRequest
from .notices import NoticesMixin
from .tables import exports


class DownloadsMixin(NoticesMixin):
    """The download half of :class:`~.service.Rights`."""

    _download: TokenSigner

    def download_link(self, request_id: str, nonce: str) -> str:
        return self._url("/rights/download", self._download.sign({"r": request_id, "n": nonce}))

    def read_download(self, token: str) -> RightsRequest:
        payload = self._download.verify(token, max_age_seconds=self.settings.download_days * 86400)
        if not isinstance(payload.get("r"), str):
            raise BadToken("the download link is not valid")
        with self.sp.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, payload["r"]))

    def download(self, token: str) -> tuple[RightsRequest, bytes]:
        """The export zip, once: the archive is deleted in the same transaction that hands it out."""
        payload = self._download.verify(token, max_age_seconds=self.settings.download_days * 86400)
        rid, nonce = payload.get("r"), payload.get("n")
        if not isinstance(rid, str) or not isinstance(nonce, str):
            raise BadToken("the download link is not valid")
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            exp = conn.execute(select(exports).where(exports.c.request_id == rid)).first()
            if exp is None or not hmac.compare_digest(exp.nonce_hash, hashlib.sha256(nonce.encode()).hexdigest()):
                raise BadToken("the download link is not valid")
            if exp.downloaded_at is not None or exp.archive is None or exp.expires_at <= now:
                raise ExpiredToken("this download was already used or has expired")
            conn.execute(update(exports).where(exports.c.request_id == rid).values(
                archive=None, wrapped_key=None, downloaded_at=now))
            self._audit(conn, row, "rights.export_downloaded", actor="requester", size=exp.size)
            data = open_sealed(self.sp.fields, exp.archive, exp.wrapped_key, request_id=rid)
            return records.to_request(row), data

