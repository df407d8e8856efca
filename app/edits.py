"""Primitive graph edits that know their own inverse.

Every undo command is a list of these. An edit's inverse is captured just before it
is applied (e.g. where in the node order a removed node stood), so undoing a whole
command in reverse order gives back the graph — and its file — byte for byte.
Qt-free, so the same edits serve scripts and tests.

This is the only module that calls ``Graph`` mutators on a document's graph (a test
checks it). :func:`apply_all` never leaves a graph half-edited: an edit the graph
refuses rolls back the ones before it; a view that fails while hearing of an edit
does not stop the command (the change happened, its inverse is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from graph_engine.events import ListenerError
from graph_engine.model import Edge, Graph, GraphError, Node


@dataclass(frozen=True)
class AddNode:
    node: Node
    index: int | None = None

    def inverse(self, graph: Graph) -> "RemoveNode":
        return RemoveNode(self.node.id)

    def apply(self, graph: Graph) -> None:
        graph.add_node(self.node, self.index)


@dataclass(frozen=True)
class RemoveNode:
    """Removes a node that has no edges left (remove its edges first, as edits)."""

    node_id: str

    def inverse(self, graph: Graph) -> AddNode:
        return AddNode(graph.node(self.node_id), graph.node_index(self.node_id))

    def apply(self, graph: Graph) -> None:
        assert not graph.in_edges(self.node_id) and not any(e.source == self.node_id for e in graph.edges), \
            "remove a node's edges (as edits) before the node"
        graph.remove_node(self.node_id)


@dataclass(frozen=True)
class AddEdge:
    edge: Edge
    index: int | None = None

    def inverse(self, graph: Graph) -> "RemoveEdge":
        return RemoveEdge(self.edge)

    def apply(self, graph: Graph) -> None:
        graph.add_edge(self.edge, self.index)


@dataclass(frozen=True)
class RemoveEdge:
    edge: Edge

    def inverse(self, graph: Graph) -> AddEdge:
        return AddEdge(self.edge, graph.edge_index(self.edge))

    def apply(self, graph: Graph) -> None:
        graph.remove_edge(self.edge)


@dataclass(frozen=True)
class ReplaceNode:
    """Swap in another value of the same node (params, position, label)."""

    node: Node

    def inverse(self, graph: Graph) -> "ReplaceNode":
        return ReplaceNode(graph.node(self.node.id))

    def apply(self, graph: Graph) -> None:
        graph.restore_node(self.node)


@dataclass(frozen=True)
class SetTraining:
    """Replace the graph's ``training`` section (the settings travel with the file)."""

    training: dict

    def inverse(self, graph: Graph) -> "SetTraining":
        return SetTraining(graph.training)

    def apply(self, graph: Graph) -> None:
        graph.set_training(self.training)


@dataclass(frozen=True)
class SetName:
    """Rename the graph (the class name of its exported module)."""

    name: str

    def inverse(self, graph: Graph) -> "SetName":
        return SetName(graph.name)

    def apply(self, graph: Graph) -> None:
        graph.set_name(self.name)


@dataclass(frozen=True)
class SetBlock:
    """Add or replace the block definition ``name`` (``definition`` None: remove it)."""

    name: str
    definition: object | None

    def inverse(self, graph: Graph) -> "SetBlock":
        return SetBlock(self.name, graph.blocks.get(self.name))

    def apply(self, graph: Graph) -> None:
        if self.definition is None:
            graph.remove_block(self.name)
        else:
            graph.set_block(self.definition)


@dataclass(frozen=True)
class InBlock:
    """Edits of block ``name``'s inside: applied to a copy of its definition's graph, which
    then replaces the definition, so every use follows (one value in, one out: undo puts
    the old definition back). A result that makes the blocks recursive is refused."""

    name: str
    edits: tuple

    def inverse(self, graph: Graph) -> SetBlock:
        return SetBlock(self.name, graph.blocks[self.name])

    def apply(self, graph: Graph) -> None:
        from dataclasses import replace

        from graph_engine.blocks import BlockError, check_definitions

        definition = graph.blocks.get(self.name)
        if definition is None:
            raise GraphError(f"there is no block {self.name!r}")
        inside = definition.graph.copy()
        apply_all(inside, self.edits)  # a refused edit raises; the copy is dropped
        changed = replace(definition, graph=inside)
        try:
            check_definitions({**graph.blocks, self.name: changed})
        except BlockError as error:
            raise GraphError(str(error)) from None
        graph.set_block(changed)


Edit = Union[AddNode, RemoveNode, AddEdge, RemoveEdge, ReplaceNode, SetTraining, SetName, SetBlock, InBlock]


class ViewsFailed(ListenerError):
    """Edits were all applied, but listeners raised while hearing of them. ``inverses``
    undo the edits, as :func:`apply_all` would have returned them."""

    def __init__(self, inverses: list[Edit], errors: list[BaseException]):
        super().__init__("the graph's events", errors)
        self.inverses = inverses


def apply_all(graph: Graph, edits: Iterable[Edit]) -> list[Edit]:
    """Apply edits in order; return their inverses in the order to apply them (reversed).

    An edit the graph refuses (GraphError, ...) undoes the ones applied before it and the
    error propagates: the graph is as it was. Listener failures are collected and raised
    as :class:`ViewsFailed` once every edit is applied."""
    inverses: list[Edit] = []
    failures: list[BaseException] = []
    for edit in edits:
        try:
            inverse = edit.inverse(graph)
            edit.apply(graph)
        except ListenerError as error:
            failures += error.errors
        except Exception:
            _roll_back(graph, inverses)
            raise
        inverses.append(inverse)
    inverses.reverse()
    if failures:
        raise ViewsFailed(inverses, failures) from failures[0]
    return inverses


def _roll_back(graph: Graph, inverses: list[Edit]) -> None:
    for inverse in reversed(inverses):
        try:
            inverse.apply(graph)
        except ListenerError:
            pass  # the graph is restored; the failing view was already reported once


def removal_edits(graph: Graph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> list[Edit]:
    """Edits that delete the given edges and nodes (with every edge touching those nodes)."""
    doomed = set(node_ids)
    chosen = set(edges)
    edits: list[Edit] = [RemoveEdge(e) for e in graph.edges
                         if e in chosen or e.source in doomed or e.target in doomed]
    edits += [RemoveNode(n) for n in graph.nodes if n in doomed]
    return edits


def place_unpositioned(graph: Graph) -> bool:
    """Lay ``graph`` out when more than one of its nodes has no position (a hand-written
    file): otherwise they would all stand on one spot. Not an undo step: the graph is
    being opened. True when it moved anything."""
    from dataclasses import replace

    from graph_engine.layout import layered_layout

    if sum(node.position is None for node in graph) < 2:
        return False
    positions = layered_layout(graph)
    apply_all(graph, [ReplaceNode(replace(graph.node(n), position=p)) for n, p in positions.items()])
    return True


def mirror_edits(shown: Graph, truth: Graph, blocks: dict) -> list[Edit]:
    """Edits that make ``shown`` (a view's copy of a block definition's graph) equal to
    ``truth`` — nodes, edges, order — and give it ``blocks`` (so nested uses show their
    ports). Nodes and edges that did not change stay, so their items on a canvas do too."""
    edits: list[Edit] = [SetBlock(n, blocks.get(n)) for n in set(shown.blocks) | set(blocks)
                         if shown.blocks.get(n) is not blocks.get(n)]
    if list(shown.nodes) != list(truth.nodes):
        edits += [RemoveEdge(e) for e in shown.edges] + [RemoveNode(n) for n in shown.nodes]
        return edits + [AddNode(n) for n in truth] + [AddEdge(e) for e in truth.edges]
    kept = set(truth.edges)
    edits += [RemoveEdge(e) for e in shown.edges if e not in kept]
    edits += [ReplaceNode(node) for node in truth if shown.node(node.id) != node]
    if [e for e in shown.edges if e in kept] != [e for e in truth.edges if e in set(shown.edges)]:
        edits += [RemoveEdge(e) for e in shown.edges if e in kept]
        return edits + [AddEdge(e) for e in truth.edges]
    return edits + [AddEdge(e, index) for index, e in enumerate(truth.edges) if e not in set(shown.edges)]
