"""The texts the SDK asks the shop's sender to deliver (no dependency: importable without the ``sms`` extra)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SmsMessage:
    """A text the shop's sender delivers. ``to`` (E.164) and ``body`` (it holds a code): do not log them."""

    kind: str
    to: str = field(repr=False)
    body: str = field(repr=False)
    locale: str = "en"


#: The shop's function that sends a text through its provider (Twilio, Vonage, ...); it raises on failure.
SmsSender = Callable[[SmsMessage], None]
