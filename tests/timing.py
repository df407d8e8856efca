"""Deadlines for waits on real work (a training child, an inspector job) that scale with this
machine's speed right now, so that a loaded or slower machine waits longer instead of failing.

A short CPU loop is timed against what it takes on a quiet 2-core development machine; the ratio
(never below 1) multiplies a wait's base deadline. It is measured once per session and again
when the last measurement is older than ``REMEASURE_S``, since the load of a shared machine
changes while the suite runs. Timing itself is never asserted in tests: that belongs in bench/.
"""

from __future__ import annotations

import statistics
import time

#: median seconds of one calibration loop on a quiet 2-core machine (Python 3.11, this project's kind)
REFERENCE_S = 0.009
#: the most a deadline is stretched: past that, something is stuck rather than slow
MAX_FACTOR = 10.0
REMEASURE_S = 20.0

_measured: tuple[float, float] | None = None  # (when, factor)


def _loop() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(200_000):
        total += i * i
    return time.perf_counter() - start


def measure() -> float:
    """How many times slower than the quiet reference this machine runs now (≥ 1)."""
    seconds = statistics.median(_loop() for _ in range(7))
    return min(MAX_FACTOR, max(1.0, seconds / REFERENCE_S))


def slowdown() -> float:
    """The current slowdown factor, measured at most every ``REMEASURE_S`` seconds."""
    global _measured
    now = time.monotonic()
    if _measured is None or now - _measured[0] > REMEASURE_S:
        _measured = (now, measure())
    return _measured[1]


def deadline_ms(base_ms: int) -> int:
    """``base_ms`` (what a quiet machine needs, with a margin) stretched by the slowdown now."""
    return int(base_ms * slowdown())


def deadline_s(base_s: float) -> float:
    return base_s * slowdown()
