"""Default retention of cookie-consent proof: a choice expires after at most 13 months, its proof is kept three
years after it was given (limitation periods), then deleted."""

from __future__ import annotations

from datetime import timedelta

from ..retention.rules import Exemption, Rule


def retention_rules() -> list[Rule]:
    return [Rule(name="sdk.consent.proof", table="sp_consent_records", anchor="at", keep_for=timedelta(days=3 * 365),
                 exempt=(Exemption(kind="legal_hold"),), description="proof of cookie-consent choices")]
