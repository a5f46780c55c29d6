"""Outgoing mail as ``.eml`` files in a local folder (open them with any mail program), and the senders the
SDK calls: rights notices (``sp.rights.set_sender``) and fresh e-mail links (``sp.email.set_sender``)."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path

from shopprivacy.declaration.changes import ChangeNotice
from shopprivacy.email import LinkMail
from shopprivacy.rights import Notice

SHOP_NAME = "Bean There"
FROM = f"{SHOP_NAME} <shop@shop.example>"
#: CRLF line ends; long lines only folded past RFC 5322's hard limit, so a ``List-Unsubscribe`` URL stays one
#: ``<...>`` token (the default 78 would wrap it in RFC 2047 encoded-words that mail clients do not parse).
WIRE = SMTP.clone(max_line_length=998)

_NOTICE_SUBJECTS = {
    "verify": "Please confirm your privacy request",
    "acknowledged": "We received your privacy request",
    "export_ready": "Your personal data is ready to download",
    "extended": "We need more time for your privacy request",
    "rejected": "About your privacy request",
    "done": "Your privacy request is complete",
    "preferences": "Your e-mail preferences",
    "reminder": "A privacy request is due soon",
    "platform_erasure_unverified": "A platform erasure could not be confirmed",
    "verify_new": "Please confirm your new e-mail address",
    "identifier_changed": "Your e-mail address with us was changed",
}
_NOTICE_TEXT = {
    "verify": "Someone (hopefully you) asked us to {kind} the personal data we hold about this address.\n"
              "{asked}Open this link to confirm it was you:\n\n{link}\n\nIf it was not you, ignore this mail.",
    "export_ready": "Your copy is ready. It can be downloaded once, from this link:\n\n{link}",
    "preferences": "Choose which mails you get from us:\n\n{link}",
    "done": "We have finished your request to {kind} your personal data.",
    "verify_new": "Someone asked us to change the e-mail address of their account with us to this address:\n"
                  "{changes}\nOpen this link to confirm it was you; nothing changes until you do:\n\n{link}\n\n"
                  "If it was not you, ignore this mail.",
    "identifier_changed": "At a request confirmed from this address and from the new one, we changed:\n{changes}\n"
                          "If you did not ask for this, reply to this mail at once (or write to "
                          "privacy@shop.example) quoting request {request}: we will restore your address and "
                          "secure your account.",
}


class MailFolder:
    """Writes each message to ``<folder>/<time>-<n>-<kind>.eml``; file names carry no address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def write(self, msg: EmailMessage, kind: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        if "Date" not in msg:
            msg["Date"] = formatdate(localtime=False)
        if "Message-ID" not in msg:
            msg["Message-ID"] = make_msgid(domain="shop.example")
        with self._lock:
            name = f"{time.time_ns()}-{os.getpid()}-{next(self._seq):04d}-{re.sub(r'[^a-z0-9_-]', '', kind)}.eml"
        path = self.folder / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msg.as_bytes(policy=WIRE))
        tmp.replace(path)  # whole files only: a reader never sees half a mail
        return path

    def messages(self, kind: str | None = None) -> list[Path]:
        """The mails written so far, oldest first (``kind``: only those of that kind)."""
        if not self.folder.is_dir():
            return []
        found = sorted(self.folder.glob("*.eml"), key=lambda p: p.name)
        return [p for p in found if kind is None or p.stem.endswith("-" + kind)]

    @staticmethod
    def compose(to: str, subject: str, text: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = FROM, to, subject
        msg.set_content(text + f"\n\n-- \n{SHOP_NAME}\n")
        return msg

    # -- senders the SDK calls --------------------------------------------------------------------------
    def send_notice(self, notice: Notice) -> None:
        """``sp.rights.set_sender``: a rights notice by e-mail (SMS notices are not used by this shop)."""
        if notice.channel == "sms":
            return
        kind = notice.request.kind if notice.request else "answer"
        template = _NOTICE_TEXT.get(notice.kind, "There is news about your privacy request.{link}")
        asked = f"The correction asked for:\n{changes_text(notice)}" if notice.changes else ""
        if any(c.needs_proof for c in notice.changes):
            asked += ("It changes the address you log in with: confirm only if you asked for it yourself. We then "
                      "mail a link to the new address; nothing changes until it is confirmed from there.\n")
        text = template.format(kind={"export": "export", "erase": "delete", "rectify": "correct"}.get(kind, kind),
                               link=notice.link or "", changes=changes_text(notice), asked=asked,
                               request=notice.request.id if notice.request else "")
        if notice.message:  # the shop's answer to a question or complaint
            text += "\n\n" + notice.message
        self.write(self.compose(notice.to, _NOTICE_SUBJECTS.get(notice.kind, "Your privacy request"), text),
                   f"rights-{notice.kind}")

    def send_change_notice(self, notice: ChangeNotice) -> None:
        """``sp.declaration.set_sender``: the privacy notice changed in a way customers must be told about."""
        self.write(self.compose(notice.to, notice.subject, notice.text), "privacy-notice-changed")

    def send_link(self, mail: LinkMail) -> None:
        """``sp.email.set_sender``: a fresh confirmation or preference link asked for on an expired page."""
        if mail.kind == "confirm":
            self.write(self.compose(mail.to, "Please confirm your newsletter subscription", confirm_text(mail.link)),
                       "optin")
        else:
            self.write(self.compose(mail.to, _NOTICE_SUBJECTS["preferences"],
                                    _NOTICE_TEXT["preferences"].format(link=mail.link)), "preferences")


def changes_text(notice: Notice) -> str:
    """The corrections of a rectify request, one per line, with the masked values the SDK gives."""
    return "".join(f"  {c.field}: {c.old + ' -> ' if c.old else ''}{c.new}\n" for c in notice.changes)


def confirm_text(link: str) -> str:
    return ("Please confirm that you want our newsletter (about one mail a month, new roasts and offers):\n\n"
            f"{link}\n\nIf you did not ask for it, ignore this mail and you will hear nothing more from us.")
