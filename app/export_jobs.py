"""File → Export without holding up the window (issue 13, defect 16: a 16 s ONNX export froze it).

Each export works on a snapshot of the graph taken when it was asked for, so later edits
cannot change what is written. Python exports (a second at most) run on a
:class:`app.background.BackgroundWorker` thread. ONNX and TorchScript run in a child process
(``rosenblatt export``): torch's exporters crashed the process now and then when called from
a thread, and a child can be stopped when the window closes. Files are written atomically
(graph_engine.atomic), so a failed or stopped export leaves no partial file; the temporaries
a killed child leaves are removed here.

While any export runs the cursor shows busy (the window still takes input); the status bar
says "Exporting model.onnx (ONNX)…", then "Exported model.onnx in 11.2 s" or one line naming
the file and what went wrong.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.background import BackgroundWorker
from graph_engine import Graph, save_graph
from graph_engine.atomic import temporary_names

#: the formats exported in a child process (torch's exporters), with the CLI's name and a caption
CHILD_FORMATS = {"onnx": "ONNX", "torchscript": "TorchScript"}
_CAPTIONS = {**CHILD_FORMATS, "python": "Python", "python-training": "Python with a training script"}
_PROJECT = str(Path(__file__).resolve().parents[1])


class ExportJob(QObject):
    """One export: ``finished`` (with the job) once ``files`` or ``error`` is known."""

    finished = Signal(object)
    _delivered = Signal(object, object)  # (files, error text) from the worker thread

    def __init__(self, fmt: str, graph: Graph, path: str | os.PathLike[str], weights: str | None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.fmt, self.graph, self.path, self.weights = fmt, graph, Path(path), weights
        #: the files written (empty until done, and after a failure)
        self.files: list[Path] = []
        #: one line naming the file and what went wrong (None: no failure)
        self.error: str | None = None
        self.done = False
        self.seconds = 0.0
        self.process: QProcess | None = None
        self._folder: str | None = None
        self._started = time.monotonic()
        self._delivered.connect(self._finish)

    @property
    def caption(self) -> str:
        return _CAPTIONS[self.fmt]

    # -- running ------------------------------------------------------------------------
    def start(self, worker: Callable[[], BackgroundWorker]) -> None:
        self._started = time.monotonic()
        if self.fmt in CHILD_FORMATS:
            self._start_child()
        else:
            worker().submit(self._export_here, on_error=lambda error: self._send([], _one_line(self.path, error)))

    def _export_here(self) -> None:
        """Worker thread: a Python export of the snapshot."""
        from graph_engine.interop import export_python

        result = export_python(self.graph, self.path, self.weights, with_training=self.fmt == "python-training")
        self._send(list(result.files), None)

    def _send(self, files: list[Path], error: str | None) -> None:
        try:
            self._delivered.emit(files, error)
        except RuntimeError:  # the window (and this job) went meanwhile
            pass

    def _start_child(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="rosenblatt-export-")
        snapshot = Path(self._folder) / "graph.json"
        save_graph(self.graph, snapshot)
        arguments = ["-m", "app.cli", "export", str(snapshot), "--to", self.fmt, "-o", str(self.path), "--force"]
        if self.weights:
            arguments += ["--weights", str(self.weights)]
        process = self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        path = environment.value("PYTHONPATH")
        environment.insert("PYTHONPATH", os.pathsep.join(p for p in (path, _PROJECT) if p))
        process.setProcessEnvironment(environment)
        process.setProgram(sys.executable)
        process.setArguments(arguments)
        process.finished.connect(self._child_finished)
        process.errorOccurred.connect(self._child_error)
        process.start()

    def _child_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.done:
            return
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self._finish([self.path], None)
            return
        lines = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip().splitlines()
        last = lines[-1].strip() if lines else (f"the export process ended with status {code}"
                                                if status == QProcess.ExitStatus.NormalExit else
                                                "the export process crashed")
        last = last.removeprefix("rosenblatt export: ")
        self._remove_temporaries()
        self._finish([], last if str(self.path) in last else f"{self.path.name}: {last}")

    def _child_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.done:
            self._finish([], f"{self.path.name}: the export process could not start ({self.process.errorString()})")

    def cancel(self) -> None:
        """Stop the export (the window closes): the child is killed, nothing is left behind. A
        Python export (a thread) cannot be stopped: it finishes on its own, atomically."""
        if self.done:
            return
        process = self.process
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            process.finished.disconnect(self._child_finished)
            process.kill()
            process.waitForFinished(5000)
            self._remove_temporaries()
            self._finish([], f"{self.path.name}: export stopped")
        else:  # a thread cannot be stopped: it finishes on its own, atomically, unreported
            self._finish([], f"{self.path.name}: the window closed before the export ended")

    def _remove_temporaries(self) -> None:
        for temporary in temporary_names(self.path.parent):
            if temporary.name.startswith(f".{self.path.name}."):
                temporary.unlink(missing_ok=True)

    def _finish(self, files: list[Path], error: str | None) -> None:
        if self.done:
            return
        self.done, self.files, self.error = True, list(files), error
        self.seconds = time.monotonic() - self._started
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self.finished.emit(self)

    def wait(self, timeout_s: float = 600.0) -> list[Path]:
        """Let the event loop run until the export ends (scripts and tests); the files written."""
        if not self.done:
            loop = QEventLoop()
            self.finished.connect(loop.quit)
            QTimer.singleShot(int(timeout_s * 1000), loop.quit)
            loop.exec()
        return self.files


def _one_line(path: Path, error: BaseException) -> str:
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    text = " ".join(text.split()) or type(error).__name__
    return text if str(path) in text else f"{path.name}: {text}"


class Exports(QObject):
    """The exports of one window: at most one per target file, a busy cursor while any runs."""

    #: a job ended (successfully or not)
    job_finished = Signal(object)

    def __init__(self, window: QWidget):
        super().__init__(window)
        self._window = window
        self.jobs: list[ExportJob] = []
        self._worker: BackgroundWorker | None = None

    def _thread(self) -> BackgroundWorker:
        if self._worker is None:
            self._worker = BackgroundWorker("rosenblatt-export")
        return self._worker

    @property
    def running(self) -> list[ExportJob]:
        return [job for job in self.jobs if not job.done]

    def busy_with(self, path: str | os.PathLike[str]) -> ExportJob | None:
        target = Path(path).resolve()
        return next((job for job in self.running if job.path.resolve() == target), None)

    def start(self, fmt: str, graph: Graph, path: str | os.PathLike[str], weights: str | None) -> ExportJob | None:
        """Export a copy of ``graph``; None (and why, on the status bar) when that file is
        being exported already."""
        if self.busy_with(path) is not None:
            self._status(f"{Path(path).name} is being exported already: wait for it to finish", 8000)
            return None
        job = ExportJob(fmt, graph.copy(), path, weights, self)
        job.finished.connect(self._finished)
        if not self.running:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        self.jobs.append(job)
        self._status(f"Exporting {job.path.name} ({job.caption})…", 0)
        job.start(self._thread)
        return job

    def _finished(self, job: ExportJob) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
            if not self.running:
                QApplication.restoreOverrideCursor()
        if job.error is not None:
            self._status(f"Export failed: {job.error}", 15000)
        else:
            names = ", ".join(p.name for p in job.files)
            self._status(f"Exported {names} in {job.seconds:.1f} s", 8000)
        self.job_finished.emit(job)

    def cancel_all(self) -> None:
        """The window closes: stop the children; Python exports finish on their own."""
        for job in list(self.running):
            job.cancel()
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def _status(self, text: str, timeout_ms: int) -> None:
        try:
            self._window.statusBar().showMessage(text, timeout_ms)
        except (AttributeError, RuntimeError):  # a window without a status bar, or gone
            pass


def exports_of(window: QWidget) -> Exports:
    """The window's exports (made on first use)."""
    found = window.findChild(Exports)
    return found if found is not None else Exports(window)


def stop_exports(window: QWidget) -> bool:
    """Closing ``window``: stop its running exports once the user agrees; False to stay open."""
    exports = window.findChild(Exports)
    running = exports.running if exports is not None else []
    if not running:
        return True
    names = ", ".join(job.path.name for job in running)
    answer = QMessageBox.question(window, "Export in progress", f"Exporting {names}. Stop and close?")
    if answer != QMessageBox.StandardButton.Yes:
        return False
    exports.cancel_all()
    return True
