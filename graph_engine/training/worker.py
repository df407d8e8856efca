"""The training child process's entry point: a snapshot in, batched plain-data events out.

The GUI starts :func:`train_in_child` in a process of the spawn context with a graph
snapshot (its JSON text), settings, a run folder, the sending end of a pipe and a
:class:`TrainingControl`. Events go down the pipe as lists, at most one list per
~100 ms plus one per event that is not a step, so a fast trainer does not flood the
GUI with pickles. A plain pipe (not a multiprocessing queue) because its reader sees
the end of the file when the child dies, even halfway through a message. A dataset or fit problem found before the first step is one
``rejected`` event (no run folder is made). The child's stderr (including a fault
handler's traceback) goes to ``log_path``, which the GUI reads when the process dies.
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


def train_in_child(graph_json: str, settings: dict[str, Any], run_dir: str, connection: Any,
                   control: Any, log_path: str | None = None) -> None:
    """Run one training job (the child process's target)."""
    if log_path:
        log = open(log_path, "a", buffering=1, encoding="utf-8")
        os.dup2(log.fileno(), 2)  # C-level messages too (CUDA, aborts)
        sys.stderr = log
        faulthandler.enable(log)
    try:
        # the window that watches must win the CPU whenever it wants it (a few % of one core):
        # a lower priority keeps its event loop answering while training takes the rest
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    sink = BatchingSink(connection.send)
    try:
        from graph_engine.data.base import DataError
        from graph_engine.serialization import loads
        from graph_engine.training import Trainer, load_dataset_for, settings_from_dict

        try:
            graph = loads(graph_json)
            resolved = settings_from_dict(settings)
            trainer = Trainer(graph, load_dataset_for(graph, resolved), resolved, sink, Path(run_dir),
                              control)
        except (DataError, ValueError, OSError) as error:
            sink({"type": "rejected", "message": " ".join(str(error).split())})
            return
        trainer.run()
    except BaseException as error:  # noqa: BLE001 (report anything, then let the process end)
        sink({"type": "failed", "message": f"{type(error).__name__}: {error}", "node": None,
              "step": None, "epoch": None})
        raise
    finally:
        try:
            sink.flush()
        finally:
            connection.close()
