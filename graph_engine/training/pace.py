"""Whether training gets the CPU it needs: threads from free cores, and a starvation signal.

On a loaded machine torch's default (one thread per core) collapses: its threads wait for
each other at every operation while other processes hold the cores, and a script that
runs in a second alone takes half a minute. So the training process takes as many threads
as there are cores free when it starts (at least one), and watches its own pace: every
couple of seconds it compares the CPU time it got with the wall-clock time and the steps
per second with the best rate it measured so far in the run. When it gets less than half
a core, or runs at less than half its best rate for two windows in a row, it says it is
starved, so the Training panel can tell a person why training is slow.

Each measurement, and each epoch's end, becomes a ``pace`` record (:func:`pace_record`), sent
as an event and written to ``metrics.jsonl``: with it goes the share of the time the probes
took so far, so a run opened from its folder says it too.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from graph_engine.training.probe_schedule import ProbeSchedule

#: seconds of training one pace measurement covers
WINDOW_S = 2.0
#: below this many cores' worth of CPU time per second (on the CPU) training is starved
STARVED_CPU = 0.5
#: below this share of the run's best steps/s, training is starved
STARVED_RATE = 0.5


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_threads(cores: int | None = None, load: float | None = None) -> int:
    """Threads for a training process: the cores other work leaves free now, at least one
    (``load``: how many cores' worth of other work; measured when not given)."""
    cores = usable_cores() if cores is None else cores
    if load is None:
        load = busy_elsewhere()
    return max(1, min(cores, int(cores - load + 0.5)))


def busy_elsewhere(samples: int = 10, interval: float = 0.01,
                   read: Callable[[], str] | None = None) -> float:
    """How many other threads want a CPU right now: the runnable count of ``/proc/loadavg``
    (which counts the reader itself) averaged over ``samples`` readings ``interval`` apart.

    Not the one-minute load average: it lags by a minute and counts this app's own training
    that just ended (a run started right after another took one thread on an idle machine).
    Where /proc is not there, the load average it is."""
    read = read or _read_loadavg
    try:
        counts = []
        for index in range(samples):
            if index:
                time.sleep(interval)
            counts.append(int(read().split()[3].split("/")[0]) - 1)
        return max(0.0, sum(counts) / len(counts))
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0


def _read_loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as stream:
        return stream.read()


def process_cpu_seconds() -> float:
    """User plus system CPU time of this process, all its threads."""
    times = os.times()
    return times.user + times.system


class PaceMonitor:
    """Measures CPU share and steps/s per window; see the module docstring."""

    def __init__(self, threads: int, on_cpu: bool = True, clock: Callable[[], float] = time.perf_counter,
                 cpu: Callable[[], float] = process_cpu_seconds, window: float = WINDOW_S):
        self.threads = threads
        self.on_cpu = on_cpu
        self.clock, self.cpu, self.window = clock, cpu, window
        self.best_rate = 0.0
        self._slow_windows = 0
        self._mark: tuple[float, float, int] | None = None

    def tick(self, step: int) -> dict[str, Any] | None:
        """Call with the step count now and then; a measurement once per window, else None."""
        now, cpu = self.clock(), self.cpu()
        if self._mark is None:
            self._mark = (now, cpu, step)
            return None
        began, cpu_before, step_before = self._mark
        wall = now - began
        if wall < self.window:
            return None
        self._mark = (now, cpu, step)
        rate = (step - step_before) / wall
        cores = (cpu - cpu_before) / wall
        slow = self.best_rate > 0 and rate < STARVED_RATE * self.best_rate
        self._slow_windows = self._slow_windows + 1 if slow else 0
        self.best_rate = max(self.best_rate, rate)
        starved = (self.on_cpu and cores < STARVED_CPU) or self._slow_windows >= 2
        return {"rate": rate, "best_rate": self.best_rate, "cpu": cores, "threads": self.threads,
                "starved": bool(starved)}

    def restart(self) -> None:
        """Forget the window in progress (after a pause: waiting is not starving)."""
        self._mark = None


def pace_record(step: int, elapsed: float, measurement: dict[str, Any],
                schedule: "ProbeSchedule | None") -> dict[str, Any]:
    """A ``pace`` record: ``step``, ``time`` (the run's training seconds), the latest window's
    ``rate``, ``best_rate``, ``cpu``, ``threads``, ``starved`` (none before the first window),
    and with probes on ``probe_share`` (of the time since the first step), ``probe_seconds``,
    ``probes`` (interval probes run) and ``probe_budget`` (the share allowed)."""
    record: dict[str, Any] = {"type": "pace", "step": step, "time": elapsed, **measurement}
    if schedule is not None:
        record.update(probe_share=schedule.used_share(), probe_seconds=schedule.spent,
                      probes=schedule.probes, probe_budget=schedule.share)
    return record
