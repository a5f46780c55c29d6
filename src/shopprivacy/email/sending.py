"""Sending marketing mail: signed unsubscribe and preference links, the RFC 2369 / RFC 8058 headers, and
:meth:`prepare`, which guards an ``EmailMessage`` and adds them."""

from __future__ import annotations

from email.message import EmailMessage

from ..errors import ExpiredToken, InvalidInput
from .suppression import SuppressionMixin


class SendingMixin(SuppressionMixin):
    """Links and headers of :class:`~.service.Email`."""

    def unsubscribe_url(self, address: str, list_id: str, *, customer_ref: str | None = None) -> str:
        """A signed one-click unsubscribe link for ``address`` on ``list_id`` (``"*"``: every list)."""
        self._known_list(list_id)
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address, customer_ref=customer_ref)
        return self._url("/unsubscribe", self._unsubscribe.sign({"s": subject, "l": list_id}))

    def fresh_unsubscribe_token(self, expired: ExpiredToken) -> str | None:
        """A new token for the subject and list of an authentic but expired unsubscribe link."""
        p = expired.payload
        if not isinstance(p, dict) or not isinstance(p.get("s"), str) or not isinstance(p.get("l"), str):
            return None
        return self._unsubscribe.sign({"s": p["s"], "l": p["l"]})

    def headers(self, address: str, list_id: str, *, customer_ref: str | None = None) -> dict[str, str]:
        """``List-Unsubscribe`` (HTTPS, optional mailto) and ``List-Unsubscribe-Post`` (RFC 8058)."""
        links = [f"<{self.unsubscribe_url(address, list_id, customer_ref=customer_ref)}>"]
        if self.settings.unsubscribe_mailto:
            links.append(f"<mailto:{self.settings.unsubscribe_mailto}?subject=unsubscribe>")
        return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}

    def prepare(self, message: EmailMessage, list_id: str, *, customer_ref: str | None = None) -> EmailMessage:
        """Check the recipient (``To``) with :meth:`guard` and add the unsubscribe headers to ``message``.

        The message's policy is given a line limit of 998 characters so the headers are written as they are,
        never RFC 2047-encoded (which mailbox providers do not parse).
        """
        to = message.get("To")
        if not to or "," in to:
            raise InvalidInput("prepare() takes a message with exactly one recipient in To")
        address = to.split("<")[-1].rstrip(">").strip()
        self.guard(address, list_id)
        if self.mailing_list(list_id).kind == "marketing":
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
        with self.sp.store.begin() as conn:
            subject, _ = self.register(conn, address)
        return self._url("/email/preferences", self._preferences.sign({"s": subject}))
