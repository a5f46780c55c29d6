"""Purpose-bound subscription renewals: the allow-listed view, the purpose guard and the runner."""

from __future__ import annotations

from .runner import Charge, Renewals, RunReport
from .testing import assert_within_allow_list
from .view import ALLOWED_FIELDS, RenewalLine, RenewalRecord, ViewResult, build_view, idempotency_key

__all__ = ["ALLOWED_FIELDS", "Charge", "RenewalLine", "RenewalRecord", "Renewals", "RunReport", "ViewResult",
           "assert_within_allow_list", "build_view", "idempotency_key"]
