"""Pacing from Shopify's calculated query cost: wait *before* the bucket runs dry, not after THROTTLED.

Every Admin GraphQL answer carries ``extensions.cost.throttleStatus`` (``maximumAvailable``,
``currentlyAvailable``, ``restoreRate``). The throttle keeps the last status and the time it was seen,
estimates what the bucket holds now (it refills at ``restoreRate`` points per second), and before a
query sleeps just long enough for the query's expected cost (the last ``requestedQueryCost`` of that
operation) plus a small reserve to be available. ``clock`` and ``sleep`` are injectable, so tests prove
the waits without spending wall-clock time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Cost assumed for an operation never seen before (Shopify's default connection cost is about 1 + first/2).
DEFAULT_COST = 50.0


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float


def parse_cost(extensions: Any) -> tuple[float | None, ThrottleStatus | None]:
    """``(requestedQueryCost, ThrottleStatus)`` from an answer's ``extensions`` (None where absent/odd)."""
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    if not isinstance(cost, Mapping):
        return None, None
    requested = cost.get("requestedQueryCost")
    requested_f = float(requested) if isinstance(requested, (int, float)) and requested >= 0 else None
    ts = cost.get("throttleStatus")
    if not isinstance(ts, Mapping):
        return requested_f, None
    try:
        status = ThrottleStatus(float(ts["maximumAvailable"]), float(ts["currentlyAvailable"]),
                                float(ts["restoreRate"]))
    except (KeyError, TypeError, ValueError):
        return requested_f, None
    if status.maximum <= 0 or status.restore_rate <= 0 or status.available < 0:
        return requested_f, None
    return requested_f, status


class CostThrottle:
    """Estimates the cost bucket between answers and paces queries so they do not get THROTTLED."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 reserve: float = 10.0, max_wait: float = 60.0) -> None:
        self.clock = clock
        self.sleep = sleep
        self.reserve = reserve
        self.max_wait = max_wait
        self._status: ThrottleStatus | None = None
        self._seen_at = 0.0
        self._costs: dict[str, float] = {}
        self._lock = threading.Lock()
        #: Seconds slept for pacing and for THROTTLED answers (for reports and tests).
        self.waited = 0.0

    def estimate(self) -> float | None:
        """Points the bucket holds now, by the last status and the time since; None before any answer."""
        if self._status is None:
            return None
        refilled = self._status.available + (self.clock() - self._seen_at) * self._status.restore_rate
        return min(self._status.maximum, refilled)

    def wait_for(self, operation: str) -> float:
        """Sleep until ``operation``'s expected cost (plus the reserve) is in the bucket; return the wait."""
        with self._lock:
            available = self.estimate()
            if available is None or self._status is None:
                return 0.0
            need = min(self._costs.get(operation, DEFAULT_COST) + self.reserve, self._status.maximum)
            if available >= need:
                return 0.0
            delay = min((need - available) / self._status.restore_rate, self.max_wait)
        self._sleep(delay)
        return delay

    def observe(self, operation: str, extensions: Any) -> None:
        """Record the cost and bucket state of an answer."""
        requested, status = parse_cost(extensions)
        with self._lock:
            if requested is not None:
                self._costs[operation] = requested
            if status is not None:
                self._status, self._seen_at = status, self.clock()

    def throttled_delay(self, operation: str, extensions: Any) -> float:
        """How long to wait after a THROTTLED answer before the same query fits in the bucket."""
        self.observe(operation, extensions)
        requested, status = parse_cost(extensions)
        if status is None:
            return 1.0
        need = min(requested if requested is not None else self._costs.get(operation, DEFAULT_COST),
                   status.maximum)
        return min(max((need - status.available) / status.restore_rate, 0.5), self.max_wait)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


__all__ = ["DEFAULT_COST", "CostThrottle", "ThrottleStatus", "parse_cost"]
