"""One training run in a child process, seen from the GUI thread as Qt signals.

The child (spawn context, :func:`graph_engine.training.worker.train_in_child`) gets
a snapshot of the graph and settings; its events come back over a multiprocessing
queue that a QTimer drains every ``interval_ms`` (with a time budget per tick), so
the GUI thread never runs a training step and never waits on the child. When the
child dies without a final event (crash, out of memory, killed) the session emits a
``crashed`` event naming the exit code or signal and the child's last message.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from graph_engine import Graph, dumps
from graph_engine.training.control import TrainingControl
from graph_engine.training.worker import train_in_child

#: events that end a run: after one of them the child's exit is expected
FINAL_EVENTS = ("finished", "failed", "rejected")
#: longest a drain may take per timer tick; the rest waits for the next tick
DRAIN_BUDGET_S = 0.010


def _exit_text(code: int | None) -> str:
    if code is None:
        return "without an exit code"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"with exit code {code}"


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as stream:
            stream.seek(max(0, os.path.getsize(path) - 4096))
            lines = [line.strip() for line in stream.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


class TrainingSession(QObject):
    """Start, watch, pause, resume and stop one training child process."""

    #: a batch of trainer events (dicts), in order, once per timer tick at most
    events_arrived = Signal(list)
    #: the child process is gone (after its final event, or a synthesised "crashed" one)
    ended = Signal()

    def __init__(self, parent: QObject | None = None, interval_ms: int = 50):
        super().__init__(parent)
        self._context = multiprocessing.get_context("spawn")
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._drain)
        self.process: Any = None
        self.control: TrainingControl | None = None
        self._queue: Any = None
        self._log: Path | None = None
        self._final_seen = False
        self._last_event: dict[str, Any] | None = None
        self.run_dir: Path | None = None
        self.started_at = 0.0
        #: the largest single drain, in seconds (the benchmark reads it)
        self.longest_drain = 0.0

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, graph: Graph, settings: dict[str, Any], run_dir: Path) -> None:
        """Start training a snapshot of ``graph``; refuses while a run is going."""
        if self.running:
            raise RuntimeError("a run is already going: stop it first")
        self.control = TrainingControl()
        self._queue = self._context.Queue()
        handle, log = tempfile.mkstemp(prefix="rosenblatt-train-", suffix=".log")
        os.close(handle)
        self._log = Path(log)
        self._final_seen = False
        self._last_event = None
        self.run_dir = Path(run_dir)
        self.process = self._context.Process(
            target=train_in_child, name="rosenblatt-training", daemon=True,
            args=(dumps(graph), dict(settings), str(run_dir), self._queue, self.control, log))
        self.process.start()
        self.started_at = time.monotonic()
        self._timer.start()

    def pause(self) -> None:
        if self.control is not None:
            self.control.pause()

    def resume(self) -> None:
        if self.control is not None:
            self.control.resume()

    def stop(self) -> None:
        """Ask the run to stop after its current step (it saves a checkpoint first)."""
        if self.control is not None:
            self.control.stop()

    def request(self, **changes: Any) -> None:
        """Pass a viewer's wish to the run's probes (see TrainingControl.request)."""
        if self.control is not None and self.running:
            self.control.request(**changes)

    def kill(self) -> None:
        """End the child at once (closing the window); its run folder keeps the last checkpoint."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._drain()

    # -- the timer --------------------------------------------------------------------
    def _drain(self) -> None:
        if self._queue is None:
            return
        began = time.perf_counter()
        batch: list[dict[str, Any]] = []
        while time.perf_counter() - began < DRAIN_BUDGET_S:
            try:
                batch.extend(self._queue.get_nowait())
            except queue.Empty:
                break
            except (EOFError, OSError, ValueError):  # a pipe torn by a dying child
                break
        alive = self.process is not None and self.process.is_alive()
        if not alive and self.process is not None and not batch:
            batch.extend(self._leftovers())
        if batch:
            self._final_seen = self._final_seen or any(e.get("type") in FINAL_EVENTS for e in batch)
            self._last_event = batch[-1]
        self.longest_drain = max(self.longest_drain, time.perf_counter() - began)
        if not alive and self.process is not None and not batch:
            self._ended()
            return
        if batch:
            self.events_arrived.emit(batch)

    def _leftovers(self) -> list[dict[str, Any]]:
        """What a dead child left in the pipe (its feeder thread flushed before exit)."""
        found: list[dict[str, Any]] = []
        while True:
            try:
                found.extend(self._queue.get_nowait())
            except (queue.Empty, EOFError, OSError, ValueError):
                return found

    def _ended(self) -> None:
        process, self.process = self.process, None
        self._timer.stop()
        process.join(1)
        if not self._final_seen:
            last = _last_line(self._log) if self._log else ""
            if not last and self._last_event is not None:
                event = self._last_event
                last = f"last event: {event.get('type')} at step {event.get('step')}"
            message = f"the training process ended {_exit_text(process.exitcode)}"
            self.events_arrived.emit([{"type": "crashed", "message": message + (f" — {last}" if last else ""),
                                       "exitcode": process.exitcode}])
        try:
            self._queue.close()
        except (OSError, ValueError):
            pass
        self._queue = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
        self.ended.emit()
