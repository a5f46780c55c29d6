"""Legal deadlines of rights requests.

GDPR (Art. 12(3)): answer within one month of receipt, extendable by two further months; a month is a
calendar month, clamped to the end of a shorter month (received 31 January: due 28/29 February).
CCPA (Cal. Code Regs. tit. 11, § 7021): confirm receipt within 10 business days, answer within 45 calendar
days, extendable once by another 45. Business days are Monday to Friday, minus the configured holidays.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from ..errors import InvalidInput

Regime = Literal["gdpr", "ccpa"]
REGIMES: frozenset[str] = frozenset({"gdpr", "ccpa"})


def add_months(at: datetime, months: int) -> datetime:
    """``at`` moved by ``months`` calendar months, the day clamped to the last day of the target month."""
    total = at.month - 1 + months
    year, month = at.year + total // 12, total % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(at: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """``at`` moved forward by ``days`` business days (the day of receipt does not count)."""
    if days < 0:
        raise InvalidInput("business days are counted forward")
    out, left = at, days
    while left:
        out += timedelta(days=1)
        if is_business_day(out.date(), holidays):
            left -= 1
    return out


@dataclass(frozen=True)
class Deadlines:
    """When a request must be acknowledged (CCPA only) and answered, and the latest extended due date."""

    acknowledge_by: datetime | None
    due_at: datetime
    extended_due_at: datetime


def due_dates(regime: str, received_at: datetime, holidays: Collection[date] = ()) -> Deadlines:
    """The deadlines of a request received at ``received_at`` under ``regime``."""
    if regime == "gdpr":
        return Deadlines(None, add_months(received_at, 1), add_months(received_at, 3))
    if regime == "ccpa":
        return Deadlines(add_business_days(received_at, 10, holidays), received_at + timedelta(days=45),
                         received_at + timedelta(days=90))
    raise InvalidInput(f"unknown regime {regime!r} (known: gdpr, ccpa)")
