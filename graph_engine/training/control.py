"""Pause, resume and stop a run from another thread or process.

Backed by multiprocessing events from the spawn context, so the same object works for
a thread (CLI, tests) and for the GUI's child training process. Checked once per step.
"""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any


class TrainingControl:
    """Flags the trainer polls between steps."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._running = context.Event()
        self._running.set()
        #: what a viewer wants probed next (e.g. another validation sample); see requests()
        self._requests = context.Queue()

    def request(self, **changes: Any) -> None:
        """Ask the running trainer's probes for something else, e.g. ``sample=12`` or
        ``feature_nodes=["c1"]``; applied at the next probe."""
        self._requests.put(changes)

    def requests(self) -> dict[str, Any]:
        """Every request made since the last call, merged (newest wins); never blocks."""
        merged: dict[str, Any] = {}
        while True:
            try:
                merged.update(self._requests.get_nowait())
            except queue.Empty:
                return merged

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float = 0.1) -> None:
        """Block while paused (returns at once when running or stopping)."""
        while not self._running.is_set() and not self._stop.is_set():
            self._running.wait(timeout)
