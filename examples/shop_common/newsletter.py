"""The newsletter: double opt-in through the SDK, and sending with the List-Unsubscribe headers."""

from __future__ import annotations

from collections.abc import Iterable

from shopprivacy import ShopPrivacy
from shopprivacy.errors import SuppressedRecipient

from .mailbox import MailFolder, confirm_text

LIST_ID = "newsletter"
#: The wording the visitor agreed to; its version is kept with the proof of every opt-in.
CONSENT_TEXT_VERSION = "newsletter-2026-01"


def state(sp: ShopPrivacy, address: str) -> str:
    """``subscribed``, ``paused``, ``pending`` (waiting for the confirmation click), ``unsubscribed`` or
    ``not_subscribed``."""
    return sp.email.state(address, LIST_ID)


def request(sp: ShopPrivacy, mail: MailFolder, address: str, *, source: str, ip: str | None = None,
            user_agent: str | None = None) -> None:
    """Store a pending opt-in and mail its confirmation link (RateLimited past the re-send limit)."""
    link = sp.email.request_opt_in(address, LIST_ID, source=source, consent_text_version=CONSENT_TEXT_VERSION,
                                   ip=ip, user_agent=user_agent)
    mail.write(mail.compose(address, "Please confirm your newsletter subscription", confirm_text(link)), "optin")


def send(sp: ShopPrivacy, recipients: Iterable[str], mail: MailFolder, subject: str, text: str) -> int:
    """Mail ``text`` to each of ``recipients`` (the shop's customers' addresses) who is subscribed;
    ``sp.email.prepare`` adds the unsubscribe headers and refuses suppressed or paused recipients and those
    without a recorded opt-in (``NotOptedIn``, a ``SuppressedRecipient``). Returns how many mails were written."""
    sent = 0
    for address in recipients:
        if state(sp, address) != "subscribed":
            continue
        body = f"{text}\n\nChange what you receive: {sp.email.preferences_url(address)}"
        msg = mail.compose(address, subject, body)
        try:
            sp.email.prepare(msg, LIST_ID)
        except SuppressedRecipient:
            continue
        mail.write(msg, "newsletter")
        sent += 1
    return sent
