"""Helpers for benchmarks: best-of timing and ratio lines."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_call(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Best per-call time in seconds over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def ratio_line(name: str, ours: float, baseline: float, *, unit: str = "s", target: str = "") -> str:
    """``name: ours 1.2 µs, baseline 0.6 µs, ratio 2.00x (target <= 3x)``."""
    def fmt(v: float) -> str:
        if unit == "s":
            return f"{v * 1e6:.2f} µs" if v < 1e-3 else f"{v * 1e3:.2f} ms"
        return f"{v:,.0f} {unit}"

    text = f"{name}: ours {fmt(ours)}, baseline {fmt(baseline)}, ratio {ours / baseline:.2f}x"
    return text + (f" (target {target})" if target else "")
