"""E-mail consent: signed unsubscribe links, RFC 8058 one-click, suppression, double opt-in, preferences.

Reach it as ``sp.email``. Names load on first use so settings can import the settings model alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .mailer import LinkMail
    from .records import Change, Meta
    from .service import Email
    from .settings import EmailSettings, MailingList

_NAMES = {"Email": "service", "Change": "records", "Meta": "records", "LinkMail": "mailer",
          "EmailSettings": "settings", "MailingList": "settings"}


__getattr__ = lazy_exports(__name__, _NAMES)


__all__ = ["Change", "Email", "EmailSettings", "LinkMail", "MailingList", "Meta"]
