"""E-mail consent: signed unsubscribe links, RFC 8058 one-click, suppression, double opt-in, preferences.

Reach it as ``sp.email``. Names load on first use so settings can import the settings model alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import Meta
    from .service import Change, Email
    from .settings import EmailSettings, MailingList

_NAMES = {"Email": "service", "Change": "service", "Meta": "records", "EmailSettings": "settings",
          "MailingList": "settings"}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(name)


__all__ = ["Change", "Email", "EmailSettings", "MailingList", "Meta"]
