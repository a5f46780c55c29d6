"""Helpers for benchmarks: best-of and median-of-interleaved-rounds timing, and lines that print the target, the
ratio and whether the target is met."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence

_TARGET = re.compile(r"^\s*(<=|>=)\s*([\d.]+)\s*(x|%)")


def per_call(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Best per-call time in seconds over ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def median_of_rounds(fns: Sequence[Callable[[], object]], *, number: int, rounds: int = 7) -> list[float]:
    """Median per-call time of each of ``fns``, measured in interleaved rounds of ``number`` calls: each round
    times every function one after the other, so background load on a shared machine falls on all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[i].append((time.perf_counter() - start) / number)
    return [statistics.median(t) for t in times]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def ratio_met(ratio: float, target: str) -> str | None:
    """``met``/``NOT MET`` for a target such as ``<= 3x`` or ``>= 70 %``; None when the target is not a ratio."""
    found = _TARGET.match(target)
    if found is None:
        return None
    op, number, unit = found.groups()
    value = ratio * 100 if unit == "%" else ratio
    return verdict(value <= float(number) if op == "<=" else value >= float(number))


def ratio_line(name: str, ours: float, baseline: float, *, unit: str = "s", target: str = "") -> str:
    """``name: ours 1.2 µs, baseline 0.6 µs, ratio 2.00x (target <= 3x: met)``."""
    def fmt(v: float) -> str:
        if unit == "s":
            return f"{v * 1e6:.2f} µs" if v < 1e-3 else f"{v * 1e3:.2f} ms"
        return f"{v:,.0f} {unit}"

    ratio = ours / baseline
    shown = f"{ratio:.0%}" if "%" in target else f"{ratio:.2f}x"
    text = f"{name}: ours {fmt(ours)}, baseline {fmt(baseline)}, ratio {shown}"
    if not target:
        return text
    met = ratio_met(ratio, target)
    return text + f" (target {target}" + (f": {met})" if met else ")")


def target_line(name: str, value: float, *, limit: float, unit_text: str, scale: float) -> str:
    """``name: 9.8 µs (target <= 30 µs: met)`` for an absolute upper limit."""
    return (f"{name}: {value * scale:.1f} {unit_text} (target <= {limit * scale:g} {unit_text}: "
            f"{verdict(value <= limit)})")
