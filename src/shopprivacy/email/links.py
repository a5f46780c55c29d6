"""Signed links of e-mail consent: one-click unsubscribe, opt-in confirmation and the preference centre.
Each purpose has its own signer (salt), so a link of one kind is never accepted as another."""

from __future__ import annotations

from urllib.parse import urlencode

from ..errors import BadToken, ExpiredToken
from ..keys import Keyring
from ..tokens import TokenSigner
from .settings import EmailSettings


class Links:
    """Signs links into the pages and reads them back (payloads only: no database access)."""

    def __init__(self, settings: EmailSettings, keyring: Keyring, *, public_base_url: str) -> None:
        self._settings = settings
        self._base = public_base_url + settings.path_prefix.rstrip("/")
        self._unsubscribe = TokenSigner(keyring, "unsubscribe")
        self._confirm = TokenSigner(keyring, "opt-in")
        self._preferences = TokenSigner(keyring, "preferences")

    def _url(self, path: str, token: str) -> str:
        return f"{self._base}{path}?{urlencode({'t': token})}"

    # -- unsubscribe ------------------------------------------------------------------------------------
    def unsubscribe_url(self, subject: str, list_id: str) -> str:
        return self._url("/unsubscribe", self._unsubscribe.sign({"s": subject, "l": list_id}))

    def read_unsubscribe(self, token: str) -> tuple[str, str]:
        """(subject, list id) of an authentic unsubscribe token; BadToken or ExpiredToken."""
        payload = self._unsubscribe.verify(token, max_age_seconds=self._settings.unsubscribe_max_age_days * 86400)
        subject, list_id = payload.get("s"), payload.get("l")
        if not isinstance(subject, str) or not isinstance(list_id, str):
            raise BadToken("the unsubscribe link is not valid")
        return subject, list_id

    def fresh_unsubscribe_token(self, expired: ExpiredToken) -> str | None:
        """A new token for the subject and list of an authentic but expired unsubscribe link."""
        p = expired.payload
        if not isinstance(p, dict) or not isinstance(p.get("s"), str) or not isinstance(p.get("l"), str):
            return None
        return self._unsubscribe.sign({"s": p["s"], "l": p["l"]})

    # -- opt-in confirmation ----------------------------------------------------------------------------
    def confirm_url(self, pending_id: str) -> str:
        return self._url("/email/confirm", self._confirm.sign({"p": pending_id}))

    def pending_id(self, token: str, *, expired_ok: bool) -> str:
        """The opt-in request a confirmation token names; BadToken, or ExpiredToken unless ``expired_ok``."""
        payload = self._confirm.verify(token, max_age_seconds=self._settings.confirm_max_age_hours * 3600,
                                       expired_ok=expired_ok)
        pending_id = payload.get("p")
        if not isinstance(pending_id, str) or not pending_id:
            raise BadToken("the confirmation link is not valid")
        return pending_id

    # -- preference centre ------------------------------------------------------------------------------
    def preferences_url(self, subject: str) -> str:
        return self._url("/email/preferences", self._preferences.sign({"s": subject}))

    def preferences_subject(self, token: str, *, expired_ok: bool = False) -> str:
        """The subject a preference-centre token names; BadToken, or ExpiredToken unless ``expired_ok``."""
        payload = self._preferences.verify(token, max_age_seconds=self._settings.preferences_max_age_days * 86400,
                                           expired_ok=expired_ok)
        subject = payload.get("s")
        if not isinstance(subject, str) or not subject:
            raise BadToken("the preferences link is not valid")
        return subject
