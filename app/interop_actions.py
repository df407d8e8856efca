"""File → Export (Python, with a training script, ONNX, TorchScript) and File → Import
PyTorch model: the dialogs around ``graph_engine.interop`` for the main window.

``export_dialog(window, fmt)`` and ``import_dialog(window)`` take the
:class:`app.main_window.MainWindow`. An export runs in the background (app.export_jobs) and
reports on the status bar; an import's errors are shown in message boxes. An imported graph replaces the document (auto-laid-out, valid, unsaved).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from app.export_jobs import ExportJob, exports_of
from app.training_controller import runs_root
from graph_engine import analyze
from graph_engine.interop.errors import InteropError, UnsupportedModel
from graph_engine.interop.overwrite import OverwriteRefused, check_targets, existing, export_files

if TYPE_CHECKING:
    from graph_engine.interop.importer import ImportedModel

#: fmt -> (dialog title, default file name, file filter)
FORMATS = {
    "python": ("Export to Python", "model.py", "Python (*.py)"),
    "python-training": ("Export to Python with a training script", "model.py", "Python (*.py)"),
    "onnx": ("Export to ONNX", "model.onnx", "ONNX (*.onnx)"),
    "torchscript": ("Export to TorchScript", "model.pt", "TorchScript (*.pt)"),
}


@contextlib.contextmanager
def _busy() -> Iterator[None]:
    """A wait cursor while an export or import runs (ONNX export takes a few seconds)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def _folder(window) -> Path:
    path = window.document.path
    return path.parent if path is not None else Path.cwd()


def ask_weights(window) -> tuple[bool, str | None]:
    """(go on, run folder or None): whether to include a training run's weights, and which."""
    answer = QMessageBox.question(
        window, "Trained weights",
        "Include the trained weights of a run?\n(No exports freshly initialised weights.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.No)
    if answer == QMessageBox.StandardButton.Cancel:
        return False, None
    if answer != QMessageBox.StandardButton.Yes:
        return True, None
    current = window.training.run_dir_with_checkpoint() if hasattr(window, "training") else None
    runs = runs_root(window.document.path)
    start = current if current is not None else runs if runs.is_dir() else Path.cwd()
    folder = QFileDialog.getExistingDirectory(window, "Run folder", str(start))
    return bool(folder), folder or None


def may_write(window, files: list[Path], weights: str | None) -> bool:
    """Never over the open document's file or the weights' run folder; ask before replacing
    any other file (model.py's weights and train.py included, which the file dialog never saw)."""
    try:
        check_targets(files, [window.document.path], [weights])
    except OverwriteRefused as error:
        QMessageBox.critical(window, "Cannot export", str(error))
        return False
    there = existing(files)
    if not there:
        return True
    listed = "\n".join(str(p) for p in there)
    answer = QMessageBox.question(window, "Replace files?", f"These files exist and will be replaced:\n{listed}")
    return answer == QMessageBox.StandardButton.Yes


def export_dialog(window, fmt: str) -> ExportJob | None:
    """Ask where (and which weights), then export a snapshot of the document's graph as ``fmt``
    without holding up the window (app.export_jobs); the job, or None when nothing was started."""
    title, default, file_filter = FORMATS[fmt]
    graph = window.document.graph
    errors = analyze(graph).errors
    if errors:
        QMessageBox.warning(window, "Cannot export a graph with errors",
                            "\n".join(f"{d.node or 'graph'}: {d.message}" for d in errors[:5]))
        return None
    # the one overwrite question is may_write's: it knows every file the export writes
    path, _ = QFileDialog.getSaveFileName(window, title, str(_folder(window) / default), file_filter,
                                          options=QFileDialog.Option.DontConfirmOverwrite)
    if not path:
        return None
    go_on, weights = ask_weights(window)
    if not go_on or not may_write(window, export_files(fmt, path, weights, fmt == "python-training"),
                                  weights):
        return None
    return exports_of(window).start(fmt, graph, path, weights)


def parse_shape(text: str) -> list[int]:
    """``"3, 32, 32"`` -> [3, 32, 32]; ValueError for anything else."""
    parts = [p.strip() for p in text.replace("×", ",").replace("x", ",").split(",") if p.strip()]
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        raise ValueError("the input shape must be whole numbers, e.g. 3,32,32, "
                         f"not {text.strip()!r}") from None
    if not 1 <= len(shape) <= 4 or min(shape) < 1:
        raise ValueError("give 1 to 4 positive sizes without the batch, e.g. 3,32,32")
    return shape


class ImportDialog(QDialog):
    """Which model (``file.py:Class`` or ``module:factory``) and its input's shape and dtype."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import PyTorch model")
        self.target = QLineEdit()
        self.target.setPlaceholderText("models.py:ResNet  or  package.module:make_model")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.target, 1)
        row.addWidget(browse)
        self.shape = QLineEdit()
        self.shape.setPlaceholderText("3,32,32")
        self.dtype = QComboBox()
        self.dtype.addItems(["float32", "int64"])
        self.dtype.setToolTip("int64 for token indices (a model that starts with an Embedding)")
        form = QFormLayout()
        form.addRow("Model (module:Class):", row)
        form.addRow("Input shape (no batch):", self.shape)
        form.addRow("Input dtype:", self.dtype)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Trace an nn.Module with torch.fx; every call needs a layer type."))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the model", str(Path.cwd()),
                                              "Python (*.py)")
        if path:
            attribute = self.target.text().rpartition(":")[2]
            self.target.setText(f"{path}:{attribute}")

    def values(self) -> tuple[str, list[int], str]:
        """(module:Class, input shape, dtype); ValueError naming what is missing."""
        spec = self.target.text().strip()
        if ":" not in spec or not spec.rpartition(":")[2]:
            raise ValueError("give the model as module:Class or path/to/file.py:Class")
        return spec, parse_shape(self.shape.text()), self.dtype.currentText()

    def _check(self) -> None:
        try:
            self.values()
        except ValueError as error:
            self.problem.setText(str(error))
            return
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None = None) -> tuple[str, list[int], str] | None:
        dialog = cls(parent)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None


def import_dialog(window) -> ImportedModel | None:
    """Ask for a model, import it and show it as the (unsaved) document."""
    if window.document.dirty:
        answer = QMessageBox.question(window, "Import PyTorch model",
                                      f"Discard the unsaved changes to {window.document.name}?")
        if answer != QMessageBox.StandardButton.Yes:
            return None
    chosen = ImportDialog.ask(window)
    if chosen is None:
        return None
    spec, shape, dtype = chosen
    try:
        with _busy():
            from graph_engine.interop import import_model  # torch and torch.fx: when asked

            imported = import_model(spec, shape, dtype, nested=True)
    except UnsupportedModel as error:
        QMessageBox.warning(window, "Cannot import the model",
                            f"{error.model}: these calls have no layer type:\n\n" + "\n".join(error.problems))
        return None
    except InteropError as error:
        QMessageBox.critical(window, "Cannot import the model", str(error))
        return None
    window.document.replace_graph(imported.graph, None)
    window.statusBar().showMessage(
        f"Imported {imported.graph.name}: {len(imported.graph)} nodes; its outputs match the model's", 8000)
    return imported
