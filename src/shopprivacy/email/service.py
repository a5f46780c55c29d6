"""``sp.email``: unsubscribe links, suppression, double opt-in, preferences, proof, platform propagation.

The class is assembled from one mixin per responsibility: :mod:`.core` (identity, links, outbox rows),
:mod:`.suppression`, :mod:`.sending` (links and headers), :mod:`.opt_in`, :mod:`.preferences`,
:mod:`.propagation` (platform) and :mod:`.mailer` (fresh links by mail)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from ..tokens import TokenSigner
from . import records
from .core import ALL, TOPIC
from .mailer import LINK_TOPIC, LinkMail, Sender
from .opt_in import OptInMixin
from .preferences import PreferencesMixin
from .records import Change, Meta
from .sending import SendingMixin
from .tables import email_subjects

if TYPE_CHECKING:
    from ..app import ShopPrivacy


class Email(SendingMixin, OptInMixin, PreferencesMixin):
    """E-mail consent for one shop. Addresses are kept only as blind indexes and subject-key tokens."""

    def __init__(self, sp: ShopPrivacy) -> None:
        self.sp = sp
        self.settings = sp.settings.email
        self._unsubscribe = TokenSigner(sp.keyring, "unsubscribe")
        self._confirm = TokenSigner(sp.keyring, "opt-in")
        self._preferences = TokenSigner(sp.keyring, "preferences")
        self._sender = None
        sp.outbox.register(TOPIC, self._deliver)
        sp.outbox.register(LINK_TOPIC, self._deliver_link)

    def forget_all(self, conn: Connection) -> int:
        """Shop redaction: drop every stored encrypted address and platform id (suppressions stay). Rows."""
        return int(conn.execute(update(email_subjects).values(address=None, customer_ref=None)).rowcount)

    def history(self, address: str) -> list[dict[str, Any]]:
        """Every opt-in, confirmation, opt-out and preference change for ``address``, oldest first."""
        with self.sp.store.begin(write=False) as conn:
            return records.history(conn, self._bidx(address))

    def run_due(self, now: datetime) -> dict[str, int]:
        """Purge unconfirmed opt-in requests past their expiry and re-send window (their proof stays)."""
        return {"expired_opt_ins": self._purge_opt_ins(now)}


__all__ = ["ALL", "TOPIC", "Change", "Email", "LinkMail", "Meta", "Sender"]
