"""BackgroundWorker: a job that raises is reported, and the jobs after it still run."""

from __future__ import annotations

import threading

from app.background import BackgroundWorker

WAIT_S = 10


def _fails() -> None:
    raise KeyError("epoch")  # what a metrics line without "epoch" raised in RunHistory


def test_a_failing_job_does_not_stop_the_jobs_after_it():
    worker = BackgroundWorker("test-worker")
    done = threading.Event()
    worker.submit(_fails)
    worker.submit(done.set)
    try:
        assert done.wait(WAIT_S), "the job after a failing one never ran"
    finally:
        worker.close()


def test_a_failure_goes_to_the_jobs_own_on_error_else_the_workers():
    reported: list[tuple[str, BaseException]] = []
    worker = BackgroundWorker("test-worker", on_error=lambda error: reported.append(("worker", error)))
    done = threading.Event()
    worker.submit(_fails, on_error=lambda error: reported.append(("job", error)))
    worker.submit(_fails)
    worker.submit(done.set)
    try:
        assert done.wait(WAIT_S)
    finally:
        worker.close()
    assert [(who, type(error)) for who, error in reported] == [("job", KeyError), ("worker", KeyError)]


def test_a_failing_on_error_does_not_stop_the_worker_either():
    def broken_report(error: BaseException) -> None:
        raise RuntimeError("the report failed too")

    worker = BackgroundWorker("test-worker", on_error=lambda error: None)
    done = threading.Event()
    worker.submit(_fails, on_error=broken_report)
    worker.submit(done.set)
    try:
        assert done.wait(WAIT_S)
    finally:
        worker.close()
