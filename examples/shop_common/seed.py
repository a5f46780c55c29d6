"""The published demo customer, and the renewal command's shared parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from shopprivacy import ShopPrivacy
from shopprivacy.platforms.local import LocalShop

from . import newsletter
from .mailbox import MailFolder

DEMO_EMAIL = "jane@example.com"
DEMO_PASSWORD = "correct horse battery"  # noqa: S105 - the published demo account's password
DEMO_PROFILE = {"first_name": "Jane", "phone": "+33 6 12 34 56 78", "address": "12 rue des Lilas\n69001 Lyon\nFrance"}


def subscribe_and_welcome(sp: ShopPrivacy, mail: MailFolder, address: str, recipients: Iterable[str]) -> None:
    """Opt ``address`` in to the newsletter (pending, then confirmed, as its link would) and send the welcome
    newsletter to ``recipients`` (every customer; only subscribers get it)."""
    link = sp.email.request_opt_in(address, newsletter.LIST_ID, source="demo-seed",
                                   consent_text_version=newsletter.CONSENT_TEXT_VERSION)
    sp.email.confirm_opt_in(link.split("?t=", 1)[1], user_agent="demo-seed")
    newsletter.send(sp, recipients, mail, "Welcome to the Bean There newsletter",
                    "Thanks for subscribing! This mail carries List-Unsubscribe headers: try them.")


def parse_when(text: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when it names no zone); ValueError with the format to use."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("use an ISO 8601 date, e.g. 2026-12-31 or 2026-12-31T08:00+00:00") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def renew(sp: ShopPrivacy, platform: LocalShop, *, until: datetime | None, dry_run: bool,
          out: Callable[[str], None]) -> str:
    """Bill every due subscription once per period; the summary line (``billed 1``, or ``nothing due``)."""
    report = sp.renewals.run(platform, until=until, dry_run=dry_run, out=out)
    return ", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "nothing due"
