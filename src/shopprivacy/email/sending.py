"""Sending marketing mail: the send guard, signed unsubscribe and preference links, the RFC 2369 / RFC 8058
headers, and :meth:`SendingGuard.prepare`, which guards an ``EmailMessage`` and adds them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

from ..errors import InvalidInput, NotOptedIn, SuppressedRecipient
from .links import Links
from .settings import EmailSettings
from .subjects import Subjects
from .suppression import Suppression

if TYPE_CHECKING:
    from ..store.engine import Store
    from ..store.restrictions import SubjectRestrictions


class SendingGuard:
    """What a shop calls before and while sending a marketing mail."""

    def __init__(self, settings: EmailSettings, *, store: Store, subjects: Subjects, links: Links,
                 suppression: Suppression,
                 restrictions: Callable[[], SubjectRestrictions | None] | None = None) -> None:
        self._settings = settings
        self._restrictions = restrictions
        self._store = store
        self._subjects = subjects
        self._links = links
        self._suppression = suppression

    def guard(self, address: str, list_id: str) -> None:
        """Raise unless a marketing mail to ``address`` on ``list_id`` may be sent: :class:`SuppressedRecipient`
        when it unsubscribed or paused, :class:`NotOptedIn` (a subclass) when no opt-in to the list is recorded
        (a confirmed double opt-in, or :meth:`~shopprivacy.email.opt_in.OptIn.record`), and
        :class:`~shopprivacy.errors.ProcessingRestricted` (also a subclass) while the person's rights request
        restricts processing or objects to direct marketing. Lists declared ``kind="transactional"`` are
        exempt: receipts and notices are never blocked."""
        if self._settings.mailing_list(list_id).kind == "transactional":
            return
        restrictions = self._restrictions() if self._restrictions is not None else None
        if restrictions is not None:
            restrictions.check({"email": address}, "marketing")
        state = self._suppression.state(address, list_id)
        if state in ("unsubscribed", "paused"):
            raise SuppressedRecipient(f"the recipient unsubscribed from or paused {list_id!r}; not sending")
        if state != "subscribed":
            raise NotOptedIn(f"the recipient has no recorded opt-in to {list_id!r} ({state}); not sending")

    def unsubscribe_url(self, address: str, list_id: str, *, customer_ref: str | None = None) -> str:
        """A signed one-click unsubscribe link for ``address`` on ``list_id`` (``"*"``: every list). An address
        recorded already is only read: nothing is written."""
        return self.unsubscribe_urls([address], list_id, customer_refs=[customer_ref])[address]

    def unsubscribe_urls(self, addresses: Sequence[str], list_id: str, *,
                         customer_refs: Sequence[str | None] | None = None) -> dict[str, str]:
        """:meth:`unsubscribe_url` for a whole mailing: one read for every address, and one write transaction
        only for those not recorded yet. Returns {address: link}."""
        self._settings.check_list(list_id)
        subjects = self._subjects.ensure(addresses, customer_refs)
        return {address: self._links.unsubscribe_url(subject, list_id) for address, subject in subjects.items()}

    def headers(self, address: str, list_id: str, *, customer_ref: str | None = None) -> dict[str, str]:
        """``List-Unsubscribe`` (HTTPS, optional mailto) and ``List-Unsubscribe-Post`` (RFC 8058)."""
        return self.headers_for_many([address], list_id, customer_refs=[customer_ref])[address]

    def headers_for_many(self, addresses: Sequence[str], list_id: str, *,
                         customer_refs: Sequence[str | None] | None = None) -> dict[str, dict[str, str]]:
        """:meth:`headers` for a whole mailing (see :meth:`unsubscribe_urls`). Returns {address: headers}."""
        mailto = self._settings.unsubscribe_mailto
        extra = f", <mailto:{mailto}?subject=unsubscribe>" if mailto else ""
        return {address: {"List-Unsubscribe": f"<{url}>{extra}", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
                for address, url in self.unsubscribe_urls(addresses, list_id, customer_refs=customer_refs).items()}

    def prepare(self, message: EmailMessage, list_id: str, *, customer_ref: str | None = None) -> EmailMessage:
        """Check the recipient (``To``) with :meth:`guard` (suppressed, paused or never opted in: refused) and add
        the unsubscribe headers to ``message``.

        The message's policy is given a line limit of 998 characters so the headers are written as they are,
        never RFC 2047-encoded (which mailbox providers do not parse).
        """
        to = message.get("To")
        if not to or "," in to:
            raise InvalidInput("prepare() takes a message with exactly one recipient in To")
        address = to.split("<")[-1].rstrip(">").strip()
        self.guard(address, list_id)
        if self._settings.mailing_list(list_id).kind == "marketing":
            for name, value in self.headers(address, list_id, customer_ref=customer_ref).items():
                del message[name]
                message[name] = value
            limit = message.policy.max_line_length
            if limit is not None and limit < 998:
                # With the default 78, the long header would be RFC 2047-encoded on output, and mailbox
                # providers would no longer recognise the link; RFC 5322 allows lines up to 998 characters.
                message.policy = message.policy.clone(max_line_length=998)
        return message

    def preferences_url(self, address: str) -> str:
        """A signed link to the preference centre of ``address``."""
        return self._links.preferences_url(self._subjects.ensure([address])[address])
