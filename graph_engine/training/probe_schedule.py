"""When the interval probes run: often enough to watch, never more than a share of the time.

A probe (activation statistics, gradient health, feature maps) costs what it costs: a few
milliseconds on a tiny network, tens on a ResNet, a different amount on every device.
A fixed interval either wastes the budget on a small model or, once a probe takes longer
than the interval, runs a probe after every step. So the schedule measures each probe and
spaces them.

The budget ``s`` (5 % by default, the Training panel's *Probe budget*) is a ceiling, not a
target: probes take *at most* that share of the time. The interval probes aim at half of it
(:data:`AIM`): after a probe that took ``c`` seconds the next waits at least
``c · (1 − a) / a`` seconds of training with ``a = s · AIM``, counted from the probe's *end*,
and never less than the settings' interval (once a second by default, for a person
watching). The other half is the margin that keeps the ceiling: the epoch-end probes
(confusion matrix, segmentation sample, text samples) count against the same budget, a
probe may cost more than the one before it, and the first probe of each node group builds
its tap. A running total enforces the ceiling over the whole run: no probe starts while the
probes so far have taken more than ``s`` of the time so far. Aiming at the ceiling itself
would spend all of it on a network whose probe costs more than about 50 ms, and leave
training at 0.95× its speed without probes before any other cost of the trainer.

With ``unit="steps"`` a person asked for a probe every N steps: that is kept exactly, and
the cost is still measured and reported. The clock is injectable so the invariant can be
tested without waiting. The trainer passes the process's CPU time on the CPU (on a machine
shared with other work, a second of wall-clock time holds little training: the share is one
of the work the run does, and the interval one of its compute) and its own wall clock, which
stops while a run is paused, on a GPU.
"""

from __future__ import annotations

import time
from typing import Callable

#: the default share of the training time that probes may take (the ceiling)
DEFAULT_SHARE = 0.05
#: the part of that share the interval probes are spaced to take (the rest is the margin
#: for epoch-end probes and for probes that cost more than the last one)
AIM = 0.5


class ProbeSchedule:
    """Says whether the interval probes are due and keeps what probes have cost."""

    def __init__(self, every: int, unit: str, share: float = DEFAULT_SHARE,
                 clock: Callable[[], float] = time.perf_counter):
        self.every = every
        self.unit = unit
        self.share = min(max(share, 1e-6), 1.0)
        self.clock = clock
        #: seconds spent in probes so far (interval and epoch-end ones)
        self.spent = 0.0
        #: seconds the last interval probe took
        self.last_cost = 0.0
        self.probes = 0
        self._start: float | None = None
        self._next = -float("inf")
        self._began: float | None = None

    def due(self, step: int) -> bool:
        """Whether a probe should run at this step (call it once per step)."""
        now = self.clock()
        if self._start is None:
            self._start = now
        if self.every <= 0:
            return False
        if self.unit == "steps":
            return step % self.every == 0
        return now >= self._next and self.spent <= self.share * (now - self._start)

    def begin(self) -> None:
        """A probe starts now (its cost is measured until :meth:`end`)."""
        self._began = self.clock()
        if self._start is None:
            self._start = self._began

    def end(self, extra: float = 0.0) -> float:
        """The probe begun last has ended: account for it (plus ``extra`` seconds it spent
        earlier, e.g. reading gradients before the optimizer step) and space the next; its cost."""
        if self._began is None:
            return 0.0
        now = self.clock()
        cost, self._began = max(0.0, now - self._began) + max(0.0, extra), None
        self.spent += cost
        self.last_cost = cost
        self.probes += 1
        aim = self.share * AIM
        gap = max(self.every / 1000.0, cost * (1.0 - aim) / aim)
        self._next = now + gap  # from the END: a slow probe can never run back to back
        return cost

    def add(self, seconds: float) -> None:
        """Count a probe run outside the schedule (at an epoch's end) against the budget."""
        self.spent += max(0.0, seconds)

    def elapsed(self) -> float:
        return 0.0 if self._start is None else max(0.0, self.clock() - self._start)

    def used_share(self) -> float:
        """The share of the time since the first step that probes took."""
        elapsed = self.elapsed()
        return self.spent / elapsed if elapsed > 0 else 0.0
