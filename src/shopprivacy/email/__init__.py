"""E-mail consent: signed unsubscribe links, RFC 8058 one-click, suppression, double opt-in, preferences.

Reach it as ``sp.email`` (:class:`Email`) and its pages as ``sp.email_web`` (:class:`EmailPages`).

``shopprivacy.settings`` imports :class:`EmailSettings`, and ``shopprivacy.store`` still imports
``shopprivacy.settings`` (for ``OutboxSettings``); until it no longer does, the names that load the store are
resolved on first use below. Once it does, they become plain ``from .x import Y as Y`` lines like the
settings names.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .settings import ALL as ALL
from .settings import EmailSettings as EmailSettings
from .settings import MailingList as MailingList

if TYPE_CHECKING:
    from .mailer import LinkMail as LinkMail
    from .pages import EmailPages as EmailPages
    from .records import Change as Change
    from .records import Meta as Meta
    from .service import Email as Email
    from .tables import EMAIL_ADDRESS_CONTEXT as EMAIL_ADDRESS_CONTEXT

_LOADS_STORE = {"LinkMail": "mailer", "EmailPages": "pages", "Change": "records", "Meta": "records",
                "Email": "service", "EMAIL_ADDRESS_CONTEXT": "tables"}


def __getattr__(name: str) -> Any:
    module = _LOADS_STORE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = ["ALL", "EMAIL_ADDRESS_CONTEXT", "Change", "Email", "EmailPages", "EmailSettings", "LinkMail",
           "MailingList", "Meta"]
