"""Primitive graph edits that know their own inverse.

Every undo command is a list of these. Applying an edit returns the edit that undoes
it, captured at that moment (e.g. where in the node order a removed node stood), so
undoing a whole command in reverse order gives back the graph — and its file — byte
for byte. Qt-free, so the same edits serve scripts and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from graph_engine.model import Edge, Graph, Node


@dataclass(frozen=True)
class AddNode:
    node: Node
    index: int | None = None

    def apply(self, graph: Graph) -> "RemoveNode":
        graph.add_node(self.node, self.index)
        return RemoveNode(self.node.id)


@dataclass(frozen=True)
class RemoveNode:
    """Removes a node that has no edges left (remove its edges first, as edits)."""

    node_id: str

    def apply(self, graph: Graph) -> AddNode:
        index = graph.node_index(self.node_id)
        node, edges = graph.remove_node(self.node_id)
        assert not edges, "remove a node's edges (as edits) before the node"
        return AddNode(node, index)


@dataclass(frozen=True)
class AddEdge:
    edge: Edge
    index: int | None = None

    def apply(self, graph: Graph) -> "RemoveEdge":
        graph.add_edge(self.edge, self.index)
        return RemoveEdge(self.edge)


@dataclass(frozen=True)
class RemoveEdge:
    edge: Edge

    def apply(self, graph: Graph) -> AddEdge:
        index = graph.edge_index(self.edge)
        graph.remove_edge(self.edge)
        return AddEdge(self.edge, index)


@dataclass(frozen=True)
class ReplaceNode:
    """Swap in another value of the same node (params, position, label)."""

    node: Node

    def apply(self, graph: Graph) -> "ReplaceNode":
        return ReplaceNode(graph.restore_node(self.node))


@dataclass(frozen=True)
class SetTraining:
    """Replace the graph's ``training`` section (the settings travel with the file)."""

    training: dict

    def apply(self, graph: Graph) -> "SetTraining":
        previous = graph.training
        graph.training = dict(self.training)
        return SetTraining(previous)


Edit = Union[AddNode, RemoveNode, AddEdge, RemoveEdge, ReplaceNode, SetTraining]


def apply_all(graph: Graph, edits: Iterable[Edit]) -> list[Edit]:
    """Apply edits in order; return their inverses in the order to apply them (reversed)."""
    inverses = [edit.apply(graph) for edit in edits]
    inverses.reverse()
    return inverses


def removal_edits(graph: Graph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> list[Edit]:
    """Edits that delete the given edges and nodes (with every edge touching those nodes)."""
    doomed = set(node_ids)
    chosen = set(edges)
    edits: list[Edit] = [RemoveEdge(e) for e in graph.edges
                         if e in chosen or e.source in doomed or e.target in doomed]
    edits += [RemoveNode(n) for n in graph.nodes if n in doomed]
    return edits
