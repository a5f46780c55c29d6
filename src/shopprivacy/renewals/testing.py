"""Test helper: assert that a shop's renewal code reads only allow-listed fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import PurposeViolation
from .view import RenewalRecord, build_view

T = TypeVar("T")


def assert_within_allow_list(func: Callable[[RenewalRecord], T], raw: Mapping[str, Any] | RenewalRecord) -> T:
    """Call ``func`` with the renewal view of ``raw``; fail the test if it reads a field outside the
    allow-list (the AssertionError names the field). Returns what ``func`` returned."""
    if isinstance(raw, RenewalRecord):
        record = raw
    else:
        result = build_view(raw)
        if result.record is None:
            raise AssertionError(f"the sample subscription is not renewable: {result.skip_reason}")
        record = result.record
    try:
        return func(record)
    except PurposeViolation as exc:
        raise AssertionError(f"renewal code read {exc.field!r}, which is outside the renewal allow-list") from exc
