"""The window's File menu: new, open, save (as), revert, naming the graph, and where the
file dialogs start (the last folder used, else the user's documents).

A mixin of :class:`app.main_window.MainWindow`, which provides ``document``,
``controller``, ``recent_files`` and ``show_status``.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QLineEdit, QMessageBox

from app import large_graphs
from app.document import collector_paused

from app.template_gallery import TemplateGallery
from graph_engine import Graph, GraphFileError, load_graph, load_template
from graph_engine.training.transfer import TransferError, branch_graph

FILE_FILTER = "Rosenblatt graphs (*.json);;All files (*)"


def file_stem(name: str) -> str:
    """A file name for a graph called ``name``: ``LeNet-5`` -> ``LeNet-5``, ``a/b: c`` -> ``a_b_c``."""
    stem = re.sub(r"[^\w.-]+", "_", name.strip(), flags=re.UNICODE).strip("._")
    return stem[:80] or "graph"


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


class FileActions:
    """See the module docstring."""

    def last_folder(self) -> Path:
        """Where file dialogs start: the folder of the last file used, else the documents."""
        recent = self.recent_files.entries()
        return Path(recent[0]).parent if recent else documents_folder()

    def name_graph(self) -> None:
        """File → Name the graph…: the name exports use (the class in model.py) and the file
        name a first save proposes. Undoable."""
        name, ok = QInputDialog.getText(self, "Name the graph", "Name:", QLineEdit.EchoMode.Normal,
                                        self.document.graph.name)
        if ok:
            self.controller.rename_graph(name)

    def _confirm_discard(self) -> bool:
        """Ask before losing unsaved changes; True when it is fine to go on."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.document.name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_document(self) -> None:
        if self._confirm_discard():
            self.document.replace_graph(Graph("Untitled"), None)

    def new_from_template(self) -> None:
        if not self._confirm_discard():
            return
        key = TemplateGallery.choose(self)
        if key:
            self.document.replace_graph(load_template(key), None)

    def branch_from_run(self, run_dir: str | Path) -> bool:
        """Branch from this run: its graph as a new (untitled) document whose next training starts
        from the run's weights (``training.init_from``; the Training panel shows and clears it)."""
        try:
            graph = branch_graph(run_dir)
        except (TransferError, GraphFileError) as error:
            QMessageBox.warning(self, "Cannot branch from this run", str(error))
            return False
        if not self._confirm_discard():
            return False
        self.document.replace_graph(graph, None)
        self.show_status(f"Branched from {Path(run_dir).name}: the next training starts from its weights")
        return True

    def open_dialog(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", str(self.last_folder()), FILE_FILTER)
        if path:
            self.open_path(path, confirm=False)

    def open_path(self, path: str | Path, confirm: bool = True) -> bool:
        """Open a file; a bad file is reported and the current document stays as it was."""
        if confirm and not self._confirm_discard():
            return False
        path = Path(path)
        with collector_paused():
            try:
                graph = load_graph(path)
            except GraphFileError as error:
                QMessageBox.critical(self, "Cannot open the file", str(error))
                return False
            problem = large_graphs.refusal(graph, path.name)
            if problem:
                QMessageBox.warning(self, "Too large for the editor", problem)
                return False
            if len(graph) + len(graph.edges) >= large_graphs.PROGRESS_FROM:
                scene = large_graphs.build_with_progress(self, graph, path.name)
                if scene is None:
                    self.show_status(f"Opening {path.name} cancelled")
                    return False
                self.prebuilt_scene = scene
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.document.replace_graph(graph, path)
            finally:
                QApplication.restoreOverrideCursor()
        self.recent_files.remember(path)
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", str(self.last_folder() / f"{file_stem(self.document.graph.name)}.json"),
                                              FILE_FILTER)
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as error:
            QMessageBox.critical(self, "Cannot save", f"{path}: {error.strerror or error}")
            return False
        self.recent_files.remember(path)
        self.show_status(f"Saved {path}")
        return True

    def revert(self) -> None:
        path = self.document.path
        if path is None or not self.document.dirty:
            return
        answer = QMessageBox.question(self, "Revert", f"Discard all changes since {path.name} was saved?")
        if answer == QMessageBox.StandardButton.Yes:
            self.open_path(path, confirm=False)

