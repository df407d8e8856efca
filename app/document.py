"""The open document: one graph, its undo stack, its file, and its latest analysis.

Views bind to ``document.graph`` and its events; they never mutate it. All edits go
through :meth:`Document.push`; validation re-runs once per command (not per primitive
edit) and the result is published as ``analysis_changed``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from graph_engine import Analysis, Graph, analyze, load_graph, save_graph


class Document(QObject):
    """Graph + undo stack + path + modified flag."""

    #: the graph object was replaced (New, Open, Revert): views must rebind
    graph_replaced = Signal(object)
    analysis_changed = Signal(object)
    #: the title-worthy state changed: path or modified flag
    state_changed = Signal()

    def __init__(self, graph: Graph | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.graph = graph or Graph()
        self.path: Path | None = None
        self.analysis: Analysis = analyze(self.graph)
        self.undo_stack.indexChanged.connect(self._after_command)
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    # -- state --------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def name(self) -> str:
        """The file's name, or the graph's for a document never saved."""
        return self.path.name if self.path else self.graph.name or "Untitled"

    @property
    def title(self) -> str:
        return f"{self.name}{' *' if self.dirty else ''}"

    # -- editing --------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def _clean_changed(self, _clean: bool) -> None:
        self.state_changed.emit()

    def _after_command(self, _index: int) -> None:
        self.refresh_analysis()

    def refresh_analysis(self) -> None:
        self.analysis = analyze(self.graph)
        self.analysis_changed.emit(self.analysis)

    # -- files ----------------------------------------------------------------------
    def replace_graph(self, graph: Graph, path: Path | None) -> None:
        """Show another graph (New, Open, Revert): a fresh undo history, clean."""
        self.undo_stack.clear()
        self.graph = graph
        self.path = path
        self.graph_replaced.emit(graph)
        self.refresh_analysis()
        self.undo_stack.setClean()
        self.state_changed.emit()

    def open(self, path: str | Path) -> None:
        """Load ``path``; on GraphFileError the current document is left untouched."""
        graph = load_graph(path)
        self.replace_graph(graph, Path(path))

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically (to ``path`` or the current file) and mark clean."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name: use Save As")
        save_graph(self.graph, target)
        self.path = target
        self.undo_stack.setClean()
        self.state_changed.emit()
        return target
