"""The service mails the SDK asks a shop's sender to deliver (breach notices, privacy-notice changes): sent
whatever the recipient's marketing choices. Each capability's notice adds what it is about."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class ServiceMail:
    """A mail the shop's sender delivers: ``subject`` line, plain ``text`` and ``html`` bodies in ``locale``.
    ``to`` is an address: do not log it."""

    to: str = field(repr=False)
    locale: str
    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)
