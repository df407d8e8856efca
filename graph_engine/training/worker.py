"""The training child process's entry point: a snapshot in, batched plain-data events out.

The GUI starts :func:`train_in_child` in a process of the spawn context with the run's
:class:`~graph_engine.training.snapshot.RunSnapshot` (graph and analysis, made once in
the GUI), settings, a run folder, the sending end of a pipe and a
:class:`TrainingControl`. Events go down the pipe as lists, at most one list per
~100 ms plus one per event that is not a step, so a fast trainer does not flood the
GUI with pickles. A plain pipe (not a multiprocessing queue) because its reader sees
the end of the file when the child dies, even halfway through a message. A dataset or
fit problem found before the first step is one ``rejected`` event (no run folder is
made). A programming error is a ``failed`` event whose line names the run folder's
``error.txt``, which holds its traceback. The child's stderr (including a fault
handler's traceback) goes to ``log_path``, which the GUI reads when the process dies
and then keeps in the run folder.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import time
from pathlib import Path
from typing import Any

#: most seconds step events wait in the child before they are sent
BATCH_SECONDS = 0.1
#: how much lower the training process's scheduling priority is than the window's
CHILD_NICENESS = 5
#: the training process is a batch job to the scheduler (Linux SCHED_BATCH)
BATCH_POLICY = True


class BatchingSink:
    """Collects events and hands them to ``send`` as lists (see the module docstring)."""

    def __init__(self, send: Any, interval: float = BATCH_SECONDS):
        self.send = send
        self.interval = interval
        self._buffer: list[dict[str, Any]] = []
        self._sent = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        self._buffer.append(event)
        if event["type"] != "step" or time.monotonic() - self._sent >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.send(self._buffer)
            self._buffer = []
        self._sent = time.monotonic()


def train_in_child(snapshot: Any, settings: dict[str, Any], run_dir: str, connection: Any,
                   control: Any, log_path: str | None = None) -> None:
    """Run one training job (the child process's target).

    ``snapshot`` is the app's :class:`~graph_engine.training.snapshot.RunSnapshot` (the
    graph and its analysis, made once): the child neither parses nor analyses it again.
    A graph's JSON text is taken too (parsed and analysed here, once)."""
    if log_path:
        _log_to(log_path)
    _lower_priority()
    sink = BatchingSink(connection.send)
    _take_free_cores()
    try:
        trainer = _trainer(snapshot, settings, Path(run_dir), sink, control)
        if trainer is not None:
            trainer.run()
    except BaseException as error:  # noqa: BLE001 (report anything, then let the process end)
        sink({"type": "failed", "message": _failure(error, run_dir), "node": None,
              "step": None, "epoch": None})
        raise
    finally:
        try:
            sink.flush()
        finally:
            connection.close()


def _lower_priority() -> None:
    """Let the window win the CPU whenever it wants it (a few % of one core), so its event loop
    answers while training takes the rest: a lower priority, and the batch policy, which tells
    the scheduler this process is CPU-bound and never needs to preempt others on waking."""
    try:
        if BATCH_POLICY and hasattr(os, "SCHED_BATCH"):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:
        pass
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass


def _take_free_cores() -> None:
    """As many torch threads as the load leaves cores free (see training/pace.py)."""
    import torch

    from graph_engine.training.pace import free_threads

    torch.set_num_threads(free_threads())


def _log_to(log_path: str) -> None:
    """Send this process's stderr (C-level messages too: CUDA, aborts) to ``log_path``."""
    log = open(log_path, "a", buffering=1, encoding="utf-8")
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    faulthandler.enable(log)


def _trainer(snapshot: Any, settings: dict[str, Any], run_dir: Path, sink: BatchingSink,
             control: Any) -> Any:
    """The run's Trainer; None when the data or settings were refused (a ``rejected`` event)."""
    from graph_engine.data.base import DataError
    from graph_engine.serialization import loads
    from graph_engine.training import RunSnapshot, Trainer, load_dataset_for, settings_from_dict

    try:
        if isinstance(snapshot, str):  # a graph's JSON text, from a script that starts the child itself
            snapshot = RunSnapshot.of(loads(snapshot), copy=False)
        resolved = settings_from_dict(settings)
        return Trainer(snapshot, load_dataset_for(snapshot, resolved), resolved, sink, run_dir, control)
    except (DataError, ValueError, OSError) as error:
        sink({"type": "rejected", "message": " ".join(str(error).split())})
        return None


def _failure(error: BaseException, run_dir: str) -> str:
    """The failed event's one line; a programming error's traceback goes to the run folder."""
    from graph_engine.training.failures import failure_text, one_line

    if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: nothing to debug
        return one_line(error)
    return failure_text(error, run_dir, "training process")
