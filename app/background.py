"""One background worker thread that never holds up quitting the app.

concurrent.futures joins its worker threads when the interpreter exits, so a long job
(top patches over a big dataset) would keep a closed window's process alive until it
finished. This worker is a daemon thread: jobs run one at a time in order, ``close()``
drops the queued ones, and a job still running when the app exits is abandoned.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

_STOP = object()


class BackgroundWorker:
    """Runs submitted callables one after another on a daemon thread."""

    def __init__(self, name: str):
        self._jobs: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        if not self._closed:
            self._jobs.put(job)

    def close(self) -> None:
        """Run nothing more (the job in progress, if any, finishes on its own)."""
        self._closed = True
        self._jobs.put(_STOP)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP or self._closed:
                return
            job()  # jobs report their own errors; one failing must not end the worker
