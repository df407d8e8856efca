"""One training run in a child process, seen from the GUI thread as Qt signals.

The child (spawn context, :func:`graph_engine.training.worker.train_in_child`) gets
a snapshot of the graph and settings; its events come back over a one-way pipe that a
QTimer drains every ``interval_ms`` (with a time budget per tick), so the GUI thread
never runs a training step and never waits on the child. This process closes its
copy of the pipe's sending end once the child runs, so a child that dies, even in the
middle of a message, reads as the end of the pipe rather than a read that never
returns. When the child dies without a final event (crash, out of memory, killed) the
session adds a ``crashed`` event naming the exit code or signal and its last message.
The child's log (its stderr) ends up in the run folder as ``train.log``, beside the
``error.txt`` a programming error leaves there.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from graph_engine import Graph
from graph_engine.training.control import TrainingControl
from graph_engine.training.snapshot import RunSnapshot
from graph_engine.training.worker import train_in_child

#: events that end a run: after one of them the child's exit is expected
FINAL_EVENTS = ("finished", "failed", "rejected")
#: longest a drain may take per timer tick; the rest waits for the next tick
DRAIN_BUDGET_S = 0.010
#: the child's log, kept in the run folder
LOG_FILE = "train.log"


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

    def __init__(self, parent: QObject | None = None, interval_ms: int = 100):
        super().__init__(parent)
        self._context = multiprocessing.get_context("spawn")
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._drain)
        self.process: Any = None
        self.control: TrainingControl | None = None
        self._reader: Any = None
        self._log: Path | None = None
        self._final_seen = False
        self._last_event: dict[str, Any] | None = None
        self.run_dir: Path | None = None

    @property
    def running(self) -> bool:
        """A child process exists (it may have sent its final event and be exiting)."""
        return self.process is not None

    def start(self, graph: Graph | RunSnapshot, settings: dict[str, Any], run_dir: Path) -> None:
        """Start training ``graph``'s snapshot (made here unless given); refuses while a run is
        going. The child gets the snapshot as it is: it neither parses nor analyses again.

        Raises OSError (or whatever starting a process raised) with nothing left behind."""
        if self.running:
            raise RuntimeError("a run is already going: stop it first")
        snapshot = RunSnapshot.of(graph)
        control = TrainingControl()
        reader, writer = self._context.Pipe(duplex=False)
        handle, log = tempfile.mkstemp(prefix="rosenblatt-train-", suffix=".log")
        os.close(handle)
        process = self._context.Process(
            target=train_in_child, name="rosenblatt-training", daemon=True,
            args=(snapshot, dict(settings), str(run_dir), writer, control, log))
        try:
            process.start()
        except BaseException:
            reader.close()
            Path(log).unlink(missing_ok=True)
            raise
        finally:
            writer.close()  # the child holds its own copy: when it dies, the pipe ends
        self.process, self.control, self._reader, self._log = process, control, reader, Path(log)
        self._final_seen = False
        self._last_event = None
        self.run_dir = Path(run_dir)
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
        """End the child at once (closing the window): take what it sent, then clean up."""
        process = self.process
        if process is None:
            return
        if process.is_alive():
            process.kill()
        process.join(5)
        batch = self._read(budget=None)
        if batch:
            self._take(batch)
            self.events_arrived.emit(batch)
        self._ended()

    # -- the timer --------------------------------------------------------------------
    def _read(self, budget: float | None = DRAIN_BUDGET_S) -> list[dict[str, Any]]:
        """What the child has sent so far (for at most ``budget`` seconds of reading)."""
        began = time.perf_counter()
        batch: list[dict[str, Any]] = []
        reader = self._reader
        while reader is not None and (budget is None or time.perf_counter() - began < budget):
            try:
                if not reader.poll():
                    break
                batch.extend(reader.recv())
            except (EOFError, OSError, ValueError):  # the child is gone (maybe mid-message)
                break
        return batch

    def _take(self, batch: list[dict[str, Any]]) -> None:
        self._final_seen = self._final_seen or any(e.get("type") in FINAL_EVENTS for e in batch)
        self._last_event = batch[-1]

    def _drain(self) -> None:
        if self.process is None:
            return
        alive = self.process.is_alive()
        batch = self._read()
        if batch:
            self._take(batch)
            self.events_arrived.emit(batch)
        elif not alive:
            self._ended()

    def _ended(self) -> None:
        """Clean up first, then tell: a listener may start the next run at once."""
        process = self.process
        if process is None:
            return
        self.process = None
        self._timer.stop()
        process.join(1)
        last = _last_line(self._log) if self._log else ""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        log = self._keep_log()
        if not self._final_seen:
            self.events_arrived.emit([self._crashed(process.exitcode, last, log)])
        self.ended.emit()

    def _crashed(self, exitcode: int | None, last: str, log: Path | None) -> dict[str, Any]:
        """The event that stands in for the final one a dead child never sent."""
        if not last and self._last_event is not None:
            event = self._last_event
            last = f"last event: {event.get('type')} at step {event.get('step')}"
        message = f"the training process ended {_exit_text(exitcode)}" + (f" — {last}" if last else "")
        if log is not None:
            message += f" (log: {log})"
        return {"type": "crashed", "message": message, "exitcode": exitcode}

    def _keep_log(self) -> Path | None:
        """Move the child's log into the run folder; where it now is, or None when there was
        nothing to keep. Without a run folder only a crashed child's log is kept (in place)."""
        log, self._log = self._log, None
        if log is None or not log.exists():
            return None
        if log.stat().st_size == 0:
            log.unlink(missing_ok=True)
            return None
        if self.run_dir is not None and self.run_dir.is_dir():
            try:
                return Path(shutil.move(log, self.run_dir / LOG_FILE))
            except OSError:
                return log
        if self._final_seen:
            log.unlink(missing_ok=True)
            return None
        return log
