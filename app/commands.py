"""Undo commands: one QUndoCommand per user gesture, made of primitive edits.

A command never pushes another command and never touches views: redo applies its
edits to the graph, undo applies their inverses, and the graph's events redraw
every view either way. Builders below turn an intent into the edits it needs.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from typing import Any, Iterable, Mapping

from PySide6.QtGui import QUndoCommand

from app.edits import AddEdge, AddNode, Edit, ReplaceNode, SetTraining, ViewsFailed, apply_all, removal_edits
from graph_engine.model import Edge, Graph, GraphError, Node, Position, resolve_params
from graph_engine.params import ParamError

#: QUndoCommand ids: commands with the same id and merge key fold into one undo step
MERGE_PARAMS = 1
MERGE_TRAINING = 2
#: continuing edits of one field at most this far apart (seconds) are one undo step
MERGE_WINDOW_S = 1.5


class EditCommand(QUndoCommand):
    """A gesture as a list of edits.

    Exception-safe: an edit the graph refuses rolls the command back and marks it
    obsolete (the stack drops it; ``refused`` holds the error for the pusher); a view
    that fails while hearing of an edit is reported, and the inverses are kept, so undo
    still works and the document is never left half-edited."""

    def __init__(self, graph: Graph, text: str, edits: list[Edit], merge_id: int = -1,
                 merge_key: Any = None):
        super().__init__(text)
        self.graph = graph
        self.edits = list(edits)
        self._inverses: list[Edit] = []
        self.refused: Exception | None = None
        self._merge_id = merge_id
        self.merge_key = merge_key
        self.created = self.last_merged = time.monotonic()

    def redo(self) -> None:
        self.refused = None
        try:
            self._inverses = apply_all(self.graph, self.edits)
        except ViewsFailed as failure:
            self._inverses = failure.inverses
            _report(failure)
        except Exception as error:  # noqa: BLE001 (refused: the graph is as it was)
            self._inverses = []
            self.refused = error
            self.setObsolete(True)

    def undo(self) -> None:
        try:
            apply_all(self.graph, self._inverses)
        except ViewsFailed as failure:
            _report(failure)

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt override)
        """Fold a continuing edit (a spin box being stepped) into this one: undo returns to
        the value before the first step. Edits further apart than MERGE_WINDOW_S are
        separate gestures (typing 7, later 9) and stay separate undo steps."""
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key:
            return False
        if other.created - self.last_merged > MERGE_WINDOW_S:
            return False
        self.edits = other.edits
        self.last_merged = other.created
        return True


def _report(failure: ViewsFailed) -> None:
    """A view's bug, not the user's: the full traceback goes where uncaught errors go."""
    error = failure.errors[0]
    sys.excepthook(type(error), error, error.__traceback__)


def add_nodes(graph: Graph, nodes: Iterable[Node], edges: Iterable[Edge] = (), text: str = "Add") -> EditCommand:
    edits: list[Edit] = [AddNode(n) for n in nodes] + [AddEdge(e) for e in edges]
    return EditCommand(graph, text, edits)


def remove(graph: Graph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> EditCommand:
    node_ids = list(node_ids)
    edges = list(edges)
    count = len(node_ids) + (0 if node_ids else len(edges))
    what = "node" if node_ids else "connection"
    return EditCommand(graph, f"Delete {count} {what}{'s' if count != 1 else ''}",
                       removal_edits(graph, node_ids, edges))


def connect(graph: Graph, edge: Edge) -> EditCommand:
    return EditCommand(graph, f"Connect {edge.source} → {edge.target}", [AddEdge(edge)])


def move(graph: Graph, positions: Mapping[str, Position], text: str | None = None) -> EditCommand:
    edits: list[Edit] = [ReplaceNode(replace(graph.node(n), position=(float(p[0]), float(p[1]))))
                         for n, p in positions.items()]
    count = len(edits)
    return EditCommand(graph, text or f"Move {count} node{'s' if count != 1 else ''}", edits)


def set_params(graph: Graph, node_id: str, changes: Mapping[str, Any], continuing: bool = False
               ) -> EditCommand:
    """Raises GraphError with the parameter's message when a value is refused."""
    node = graph.node(node_id)
    try:
        params = resolve_params(node.type, {**node.params, **changes})
    except ParamError as error:
        raise GraphError(f"{node_id}: {error}") from None
    names = ", ".join(sorted(changes))
    key = (node_id, tuple(sorted(changes))) if continuing else None
    return EditCommand(graph, f"Set {node_id}.{names}", [ReplaceNode(replace(node, params=params))],
                       MERGE_PARAMS if continuing else -1, key)


def set_label(graph: Graph, node_id: str, label: str | None) -> EditCommand:
    node = graph.node(node_id)
    return EditCommand(graph, f"Rename {node_id}", [ReplaceNode(replace(node, label=label or None))])


def insert_on_input(graph: Graph, target: str, port: int, node: Node) -> EditCommand:
    """Put ``node`` on the edge into ``target``'s ``port`` (how a diagnostic's fix is applied)."""
    edits: list[Edit] = [AddNode(node)]
    incoming = [e for e in graph.edges if e.target == target and e.port == port]
    for edge in incoming:
        edits += removal_edits(graph, [], [edge])
        edits.append(AddEdge(Edge(edge.source, node.id, 0, edge.source_port)))
    edits.append(AddEdge(Edge(node.id, target, port)))
    return EditCommand(graph, f"Insert {node.type} before {target}", edits)


def set_training(graph: Graph, changes: Mapping[str, Any], continuing: bool = False) -> EditCommand:
    """Change training settings; raises GraphError naming the refused key and why."""
    from graph_engine.training.settings import settings_from_dict

    merged = {**graph.training, **changes}
    try:
        settings_from_dict(merged)
    except ValueError as error:
        raise GraphError(str(error)) from None
    names = ", ".join(sorted(changes))
    key = ("training", tuple(sorted(changes))) if continuing else None
    return EditCommand(graph, f"Set training {names}", [SetTraining(merged)],
                       MERGE_TRAINING if continuing else -1, key)
