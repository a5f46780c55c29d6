"""Fresh links by mail: when a confirmation or preference link has expired, its page offers to mail a new
one to the address it was sent to. The SDK queues the mail in the outbox (no address in the row) and the
shop's sender, set with :meth:`~LinkMailer.set_sender`, delivers it; until a sender is set, nothing is
offered and queued mails wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.engine import Connection

from ..errors import RateLimited, RetryLater
from ..i18n import direction
from . import records
from .links import Links
from .settings import EmailSettings
from .subjects import Subjects

if TYPE_CHECKING:
    from ..store.engine import Store
    from ..store.outbox import Delivery, Outbox

#: Outbox topic of link mails.
LINK_TOPIC = "email.link"
LinkKind = Literal["confirm", "preferences"]


@dataclass(frozen=True)
class LinkMail:
    """A mail the shop's sender delivers: a fresh opt-in confirmation (``kind="confirm"``, with ``list_id``)
    or preference-centre (``kind="preferences"``) link. ``to`` is an address: do not log it."""

    kind: LinkKind
    to: str = field(repr=False)
    link: str = field(repr=False)
    locale: str
    list_id: str | None = None

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``: the ``dir`` of an HTML mail in :attr:`locale`."""
        return direction(self.locale)


Sender = Callable[[LinkMail], None]


class LinkMailer:
    """Queueing :class:`LinkMail` values in the outbox and delivering them through the shop's sender."""

    def __init__(self, settings: EmailSettings, *, store: Store, outbox: Outbox, subjects: Subjects,
                 links: Links) -> None:
        self._settings = settings
        self._store = store
        self._outbox = outbox
        self._subjects = subjects
        self._links = links
        self._sender: Sender | None = None

    def set_sender(self, sender: Sender | None) -> None:
        """The function that mails :class:`LinkMail` values. Until it is set, expired-link pages explain how to
        get a new link instead of offering to mail one."""
        self._sender = sender

    @property
    def can_mail_links(self) -> bool:
        """True when a sender is set, so pages may offer to mail a fresh link."""
        return self._sender is not None

    def queue(self, conn: Connection, kind: LinkKind, subject: str, *, locale: str, key: str,
              pending: str | None = None, list_id: str | None = None) -> bool:
        """Queue a link mail in ``conn``'s transaction under the idempotency ``key``; False when it was taken."""
        payload = {"kind": kind, "subject": subject, "locale": locale[:20], "pending": pending, "list": list_id}
        return self._outbox.enqueue(conn, LINK_TOPIC, payload, idempotency_key=key[:200])

    def queue_limited(self, conn: Connection, kind: LinkKind, subject: str, *, locale: str, now: datetime) -> None:
        """Queue a link mail unless ``resend_limit`` mails of ``kind`` went to ``subject`` in this window.

        Each window (``resend_window_hours``, counted from the epoch) has ``resend_limit`` slots, each an outbox
        idempotency key; a taken slot is refused by the outbox's unique key, so two racing requests never
        exceed the limit."""
        bucket = int(now.timestamp()) // (self._settings.resend_window_hours * 3600)
        for slot in range(self._settings.resend_limit):
            key = f"{LINK_TOPIC}:{kind}:{subject}:{bucket}:{slot}"
            if self.queue(conn, kind, subject, locale=locale, key=key):
                return
        raise RateLimited("too many mails with a new link for this address; try again later")

    def deliver(self, delivery: Delivery) -> None:
        """Mail the link of a queued row through the sender (the outbox handler of :data:`LINK_TOPIC`)."""
        p: Any = delivery.payload
        if self._sender is None:
            raise RetryLater("no sender is set for e-mail links (sp.email.set_sender)", retry_after=3600)
        with self._store.begin(write=False) as conn:
            row = records.subject_row(conn, str(p["subject"]))
        address = None if row is None else self._subjects.address_of(row)
        if address is None:
            return  # erased meanwhile: nobody to mail
        if p["kind"] == "confirm":
            link = self._links.confirm_url(str(p["pending"]))
        else:
            link = self._links.preferences_url(str(p["subject"]))
        self._sender(LinkMail(kind=p["kind"], to=address, link=link, locale=str(p["locale"]),
                              list_id=p.get("list")))
