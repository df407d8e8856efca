"""Deadlines for waits on real work (a training child, an inspector job) that scale with this
machine's speed right now, so that a loaded or slower machine waits longer instead of failing.

A short CPU loop is timed against what it takes on a quiet 2-core development machine; the ratio
(never below 1) multiplies a wait's base deadline. The loop runs in a thread at the training
child's niceness (graph_engine.training.worker.CHILD_NICENESS): on a busy machine a niced child
gets a smaller share of the CPU than the test process, and the waits are mostly on such children.
It is measured once per session and again when the last measurement is older than
``REMEASURE_S``, since the load of a shared machine changes while the suite runs. Timing itself is
never asserted in tests: that belongs in bench/.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

#: median seconds of one calibration loop on a quiet 2-core machine (Python 3.11, this project's kind)
REFERENCE_S = 0.009
#: the most a deadline is stretched: past that, something is stuck rather than slow
MAX_FACTOR = 20.0
#: the training child's niceness, when the engine cannot be asked
DEFAULT_NICENESS = 5
REMEASURE_S = 20.0

_measured: tuple[float, float] | None = None  # (when, factor)


def _loop() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(200_000):
        total += i * i
    return time.perf_counter() - start


def _niceness() -> int:
    try:
        from graph_engine.training.worker import CHILD_NICENESS
    except ImportError:
        return DEFAULT_NICENESS
    return CHILD_NICENESS


def _timed_loops(niceness: int) -> list[float]:
    """Seven loops in a thread of their own at ``niceness`` (Linux: a thread has its own)."""
    times: list[float] = []

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except (AttributeError, OSError):
            pass  # not Linux, or not allowed: measured at the process's own priority
        times.extend(_loop() for _ in range(7))

    thread = threading.Thread(target=run, name="timing-calibration")
    thread.start()
    thread.join()
    return times


def measure() -> float:
    """How many times slower than the quiet reference a training child runs now (≥ 1)."""
    seconds = statistics.median(_timed_loops(_niceness()))
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
