"""Settings of rights requests (``SHOPPRIVACY_RIGHTS__*``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RightsSettings(BaseModel):
    """Regime, verification, export links, reminders and rate limits of rights requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Regime of requests opened without one: ``gdpr`` (one month, +2) or ``ccpa`` (45 days, +45).
    default_regime: Literal["gdpr", "ccpa"] = "gdpr"
    #: Verification links are valid this long; unverified requests expire when it has passed.
    verify_max_age_hours: int = Field(72, ge=1, le=24 * 30)
    #: After the first identifier is verified, wait this long for the others before processing
    #: with the verified ones only.
    verify_grace_hours: int = Field(24, ge=0, le=24 * 14)
    #: Export download links (single use) expire after this many days; the archive is then deleted.
    download_days: int = Field(7, ge=1, le=30)
    #: Operator reminders start this many days before a due date.
    remind_days_before: int = Field(7, ge=1, le=30)
    #: Address that receives operator reminders through the notice sender (none: log lines only).
    operator_email: str | None = None
    #: Identifiers of closed requests are dropped after this many days (their blind indexes stay as proof).
    keep_identifiers_days: int = Field(30, ge=1, le=3650)
    #: Requests opened per identifier and per client IP within ``rate_window_hours``.
    rate_limit_identity: int = Field(5, ge=1, le=1000)
    rate_limit_ip: int = Field(20, ge=1, le=100_000)
    rate_window_hours: int = Field(24, ge=1, le=24 * 30)
    #: Public holidays skipped when counting CCPA business days (besides Saturdays and Sundays).
    holidays: list[date] = Field(default_factory=list)
    #: Failed processing is retried after at most this many minutes (exponential backoff from 1 minute).
    retry_max_minutes: int = Field(360, ge=1, le=24 * 60)
    #: Minutes an erasure the requester confirmed waits before it runs, cancellable from the link mailed with the
    #: ``erasure_scheduled`` notice (0: off, the erasure runs at once).
    erasure_grace_minutes: int = Field(0, ge=0, le=7 * 24 * 60)
    #: Where the portal is mounted below the public base URL (same prefix as the other pages).
    path_prefix: str = "/privacy"
