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

from app.edits import (
    AddEdge, AddNode, Edit, RemoveEdge, RemoveNode, ReplaceNode, SetBlock, SetName, SetTraining, ViewsFailed,
    apply_all, removal_edits,
)
from graph_engine.block_face import checked_params
from graph_engine.model import Edge, Graph, GraphError, Node, Position, check_node_id, resolve_params
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
        params = checked_params(graph, node, changes, graph.is_template)
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


# -- structure: rename an id, insert on an edge or after a node, delete and bridge -----------
def rename_node(graph: Graph, node_id: str, new_id: str) -> EditCommand:
    """Give a node another id: its edges follow, in their places (the file keeps its order),
    and so does the training section's list of feature-map nodes. Raises GraphError for an
    id that is taken or invalid."""
    check_node_id(new_id)
    if new_id in graph:
        raise GraphError(f"there is already a node {new_id!r}")
    node = graph.node(node_id)
    touching = [(graph.edge_index(e), e) for e in graph.edges if node_id in (e.source, e.target)]
    edits: list[Edit] = removal_edits(graph, [node_id])
    edits.append(AddNode(replace(node, id=new_id), graph.node_index(node_id)))
    for index, edge in sorted(touching):
        edits.append(AddEdge(replace(edge, source=new_id if edge.source == node_id else edge.source,
                                     target=new_id if edge.target == node_id else edge.target), index))
    watched = graph.training.get("feature_map_nodes")
    if isinstance(watched, list) and node_id in watched:
        edits.append(SetTraining({**graph.training,
                                  "feature_map_nodes": [new_id if n == node_id else n for n in watched]}))
    command = EditCommand(graph, f"Rename {node_id} to {new_id}", edits)
    command.renamed = (node_id, new_id)  # the document tells the run views (app.document)
    return command


def insert_on_edge(graph: Graph, edge: Edge, node: Node, existing: bool = False) -> EditCommand:
    """Put ``node`` on ``edge``: source → node (input 0) → target. ``existing``: the node is
    already in the graph (dropped onto the edge), ``node`` its new value (where it lands)."""
    edits: list[Edit] = [ReplaceNode(node) if existing else AddNode(node)]
    edits += removal_edits(graph, [], [edge])
    edits += [AddEdge(Edge(edge.source, node.id, 0, edge.source_port)), AddEdge(Edge(node.id, edge.target, edge.port))]
    return EditCommand(graph, f"Insert {node.id} between {edge.source} and {edge.target}", edits)


def insert_after(graph: Graph, anchor: str, node: Node, wire: bool, shift: Mapping[str, Position]) -> EditCommand:
    """Add ``node`` after ``anchor``: wired from its first output, taking over what that output
    fed (the chain stays one chain); ``shift`` moves the nodes downstream to make room."""
    edits: list[Edit] = [ReplaceNode(replace(graph.node(n), position=p)) for n, p in shift.items()]
    edits.append(AddNode(node))
    if wire:
        consumers = [e for e in graph.edges if e.source == anchor and e.source_port == 0]
        edits += removal_edits(graph, [], consumers)
        edits.append(AddEdge(Edge(anchor, node.id, 0)))
        edits += [AddEdge(Edge(node.id, e.target, e.port)) for e in consumers]
    return EditCommand(graph, f"Add {node.type} after {anchor}", edits)


def bridged_edges(graph: Graph, node_id: str) -> list[Edge]:
    """The edges that keep a chain connected when ``node_id`` goes: what fed its input 0 now
    feeds what its output 0 fed (none when it had no single feed)."""
    feeds = [e for e in graph.in_edges(node_id) if e.port == 0]
    if len(feeds) != 1:
        return []
    feed = feeds[0]
    return [Edge(feed.source, e.target, e.port, feed.source_port)
            for e in graph.edges if e.source == node_id and e.source_port == 0]


def delete_and_bridge(graph: Graph, node_id: str, bridges: Iterable[Edge]) -> EditCommand:
    edits = removal_edits(graph, [node_id]) + [AddEdge(e) for e in bridges]
    return EditCommand(graph, f"Delete {node_id} and bridge", edits)


def set_name(graph: Graph, name: str) -> EditCommand:
    return EditCommand(graph, f"Name the graph {name}", [SetName(name)])


def block_rewrite(graph: Graph, rewrite, text: str) -> EditCommand:
    """One undo step for a change of the block structure (make block, explode, make unique):
    ``rewrite`` is a ``graph_engine.blocks.BlockRewrite``."""
    edits: list[Edit] = [RemoveEdge(e) for e in rewrite.removed_edges]
    edits += [RemoveNode(n) for n in rewrite.removed_nodes]
    edits += [SetBlock(d.name, d) for d in rewrite.definitions]
    edits += [AddNode(n) for n in rewrite.added_nodes]
    edits += [AddEdge(e) for e in rewrite.added_edges]
    return EditCommand(graph, text, edits)
