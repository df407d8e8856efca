"""Editing inside a block definition: the canvas shows the definition, edits change it.

A :class:`BlockScope` keeps a graph that mirrors block ``name``'s definition (the canvas,
inspector and controller work on it as on any graph) and turns each command made on it
into one command on the document: an ``InBlock`` edit that replaces the definition, so
every use follows and undo is one step. The mirror follows the definition through the
document's ``blocks_changed`` events (an undo, an edit from elsewhere).

:class:`BlockNavigator` is the breadcrumb's model: the stack of definitions entered
(double-click a use to enter, Escape or the breadcrumb to leave).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.commands import EditCommand
from app.edits import InBlock, SetBlock, apply_all, mirror_edits
from graph_engine import Analysis, Graph
from graph_engine.block_face import definition_analysis, first_use


class BlockScope:
    """Block ``name`` of ``top`` as an editable graph."""

    def __init__(self, top: Graph, name: str, lost: Callable[[], None], use_path: str | None = None):
        self.top = top
        self.name = name
        #: the use this definition was entered through (``layer1_0``, ``stage.block``): whose
        #: layers the training views show; the first use when entered from elsewhere
        self.use_path = use_path or first_use(top, name)
        self.graph = Graph(name, template=True)
        self._lost = lost
        apply_all(self.graph, mirror_edits(self.graph, top.blocks[name].graph, top.blocks))
        top.blocks_changed.connect(self._blocks_changed)

    def detach(self) -> None:
        self.top.blocks_changed.disconnect(self._blocks_changed)

    def _blocks_changed(self, name: str) -> None:
        definition = self.top.blocks.get(self.name)
        if definition is None:  # the block went (an undo of Make block): leave it, after the edit
            QTimer.singleShot(0, self._lost)
            return
        apply_all(self.graph, mirror_edits(self.graph, definition.graph, self.top.blocks))

    def analysis(self, top: Analysis) -> Analysis:
        """The definition's layers with the shapes its first use gives them."""
        return definition_analysis(top, self.name, self.graph, self.use_path)

    def uses(self) -> int:
        """How many nodes of the document use this block (at any depth counted once per node)."""
        graph = self.top
        direct = sum(1 for n in graph if n.type == self.name)
        return direct + sum(1 for d in graph.blocks.values() for n in d.graph if n.type == self.name)

    def wrap(self, command: EditCommand) -> EditCommand:
        """A command made on the mirror as one command on the document: definitions it adds
        (Make block inside a block) go to the document, the rest edits this definition."""
        blocks = [e for e in command.edits if isinstance(e, SetBlock)]
        inside = tuple(e for e in command.edits if not isinstance(e, SetBlock))
        wrapped = EditCommand(self.top, f"{command.text()} (in {self.name})",
                              [*blocks, InBlock(self.name, inside)], command.id(), command.merge_key)
        return wrapped


class BlockNavigator(QObject):
    """The definitions entered, outermost first. ``changed(list names)`` after each move."""

    changed = Signal(list)

    def __init__(self, top: Callable[[], Graph], parent: QObject | None = None):
        super().__init__(parent)
        self._top = top
        self._scopes: list[BlockScope] = []

    @property
    def scope(self) -> BlockScope | None:
        return self._scopes[-1] if self._scopes else None

    @property
    def path(self) -> list[str]:
        return [s.name for s in self._scopes]

    def enter(self, name: str, use_id: str | None = None) -> bool:
        """Edit block ``name`` (``use_id``: the use of the shown graph it was opened through)."""
        graph = self._top()
        if name not in graph.blocks or name in self.path:
            return False
        outer = self.scope
        use_path = None
        if use_id is not None:
            use_path = use_id if outer is None or outer.use_path is None else f"{outer.use_path}.{use_id}"
        self._scopes.append(BlockScope(graph, name, self.leave_all, use_path))
        self.changed.emit(self.path)
        return True

    def go_to(self, depth: int) -> None:
        """Leave to ``depth`` definitions deep (0: the graph itself)."""
        if depth >= len(self._scopes):
            return
        while len(self._scopes) > max(0, depth):
            self._scopes.pop().detach()
        self.changed.emit(self.path)

    def leave(self) -> None:
        """One definition up; nothing at the graph itself (Escape on the plain canvas used
        to rebuild the scene there, and the view jumped back to its start)."""
        if self._scopes:
            self.go_to(len(self._scopes) - 1)

    def leave_all(self) -> None:
        self.go_to(0)

    def forget(self) -> None:
        """The document's graph was replaced: the scopes speak of the old one."""
        for scope in self._scopes:
            scope.detach()
        self._scopes = []

    def node_path(self, node_id: str) -> str:
        """A node of the shown graph as the compiled network names it (``layer1_0.conv1``)."""
        scope = self.scope
        return node_id if scope is None or scope.use_path is None else f"{scope.use_path}.{node_id}"

    def analysis(self, top: Analysis) -> Analysis:
        """What the canvas shows: the document's analysis, or the entered definition's."""
        return self.scope.analysis(top) if self.scope is not None else top


__all__ = ["BlockNavigator", "BlockScope"]
