"""The open document: one graph, its undo stack, its file, and its latest analysis.

Views bind to ``document.graph`` and its events; they never mutate it. All edits go
through :meth:`Document.push`. After each command (and each undo or redo) the document
publishes what kinds of change it made (``changed``: network, layout, training, name);
validation re-runs only when the network changed, and its result is published as
``analysis_changed``. Views subscribe to what they draw.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.bridge import ALL_CHANGES, NETWORK, GraphBridge
from app.edits import place_unpositioned
from graph_engine import Analysis, Graph, analyze, load_graph, save_graph
from graph_engine.analysis_memory import AnalysisMemory
from graph_engine.reanalysis import reanalyze


@contextmanager
def collector_paused():
    """No cyclic garbage collection while a graph's views are built: tens of thousands of new
    items would otherwise set off full collections over every object the app holds (seconds
    for a 20,000-node graph); reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Document(QObject):
    """Graph + undo stack + path + modified flag."""

    #: the graph object was replaced (New, Open, Revert): views must rebind
    graph_replaced = Signal(object)
    analysis_changed = Signal(object)
    #: after a command, an undo or a redo: the frozenset of kinds of change (app.bridge)
    changed = Signal(object)
    #: the title-worthy state changed: path or modified flag
    state_changed = Signal()
    #: (old id, new id): a node was renamed by a command, or by its undo (run views follow)
    node_renamed = Signal(str, str)

    def __init__(self, graph: Graph | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.bridge = GraphBridge(self)
        self.graph = graph if graph is not None else Graph()  # an empty graph is falsy: it is still this one
        self.bridge.attach(self.graph)
        self.path: Path | None = None
        self.analysis: Analysis = analyze(self.graph)
        #: the analyses of the graph's last few states (an undo returns to one: graph_engine.analysis_memory)
        self._memory = AnalysisMemory()
        self._memory.keep(self.graph, self.analysis)
        self._index = 0
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
        """Do ``command`` and put it on the stack. An edit the graph refuses leaves the
        document as it was, drops the command and raises its error here."""
        self.undo_stack.push(command)
        refused = getattr(command, "refused", None)
        if refused is not None:
            raise refused

    def _clean_changed(self, _clean: bool) -> None:
        self.state_changed.emit()

    def _after_command(self, index: int) -> None:
        before, self._index = self._index, index
        stack = self.undo_stack
        forward = range(before, index) if index > before else range(before - 1, index - 1, -1)
        renames = [getattr(stack.command(i), "renamed", None) for i in forward if 0 <= i < stack.count()]
        changes = self.bridge.take_changes()
        touched = self.bridge.take_touched()
        if not changes:
            return
        if NETWORK in changes:
            # a state the graph was in lately (an undo, a redo) has its analysis still; any other
            # is re-analysed where the edits can have changed it
            previous = self.analysis
            self.analysis = self._memory.analysis_for(self.graph, lambda: reanalyze(previous, touched))
            self.analysis_changed.emit(self.analysis)
        self.changed.emit(changes)
        for renamed in renames:
            if renamed is not None:
                self.node_renamed.emit(*(renamed if index > before else renamed[::-1]))

    def refresh_analysis(self) -> None:
        """Analyse the whole graph again (after something no edit records, e.g. new layers)."""
        self.bridge.take_touched()
        self.analysis = analyze(self.graph)
        self._memory.keep(self.graph, self.analysis)  # (new layer types: earlier analyses may differ now)
        self.analysis_changed.emit(self.analysis)

    # -- files ----------------------------------------------------------------------
    def replace_graph(self, graph: Graph, path: Path | None) -> None:
        """Show another graph (New, Open, Revert): a fresh undo history, clean."""
        with collector_paused():
            self._replace_graph(graph, path)

    def _replace_graph(self, graph: Graph, path: Path | None) -> None:
        self.undo_stack.clear()
        place_unpositioned(graph)  # before anyone listens: a hand-written file opens laid out
        self.graph = graph
        self.bridge.attach(graph)
        self.path = path
        self.analysis = analyze(graph)  # before the views rebind: they draw this graph's analysis
        self._memory.keep(graph, self.analysis)
        self.graph_replaced.emit(graph)
        self.analysis_changed.emit(self.analysis)
        self.changed.emit(ALL_CHANGES)
        self.undo_stack.setClean()
        self.state_changed.emit()

    def open(self, path: str | Path) -> None:
        """Load ``path``; on GraphFileError the current document is left untouched."""
        with collector_paused():
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
