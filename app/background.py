"""One background worker thread that never holds up quitting the app.

concurrent.futures joins its worker threads when the interpreter exits, so a long job
(top patches over a big dataset) would keep a closed window's process alive until it
finished. This worker is a daemon thread: jobs run one at a time in order, ``close()``
drops the queued ones, and a job still running when the app exits is abandoned.

A job that raises is reported (to its own ``on_error``, else the worker's) and the
worker goes on with the next one: one bad run folder must not silence every later
request until the app restarts.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

_STOP = object()
_log = logging.getLogger(__name__)

ErrorHandler = Callable[[BaseException], None]


def log_error(error: BaseException) -> None:
    """The default report: the traceback on the log (stderr, where nothing else is set up)."""
    _log.error("a background job failed", exc_info=error)


class BackgroundWorker:
    """Runs submitted callables one after another on a daemon thread."""

    def __init__(self, name: str, on_error: ErrorHandler = log_error):
        self._jobs: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self._closed = False
        self._on_error = on_error
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None], on_error: ErrorHandler | None = None) -> None:
        """Queue ``job``; if it raises, ``on_error`` (else the worker's handler) hears of it."""
        if not self._closed:
            self._jobs.put((job, on_error or self._on_error))

    def close(self) -> None:
        """Run nothing more (the job in progress, if any, finishes on its own)."""
        self._closed = True
        self._jobs.put(_STOP)

    def _loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP or self._closed:
                return
            job, on_error = item
            _run(job, on_error)


def _run(job: Callable[[], None], on_error: ErrorHandler) -> None:
    """One job; whatever it raises is reported, and a failing report is logged."""
    try:
        job()
    except Exception as error:  # noqa: BLE001 (reported; the next job must still run)
        try:
            on_error(error)
        except Exception as report_error:  # noqa: BLE001 (the report itself failed)
            log_error(report_error)
