"""The one walk every pass shares: who feeds whom, and a topological order.

Validation, shape inference, the compiler and the code exporter all take their
order and their per-port inputs from :func:`wire`, so they can never disagree.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import networkx as nx

from graph_engine.model import Graph


class Feed(NamedTuple):
    """What feeds an input port: output ``port`` of node ``node``."""

    node: str
    port: int = 0


@dataclass(frozen=True)
class Wiring:
    """The graph's connectivity, indexed once."""

    #: target -> input port -> what feeds that port (more than one is an error)
    inputs: dict[str, dict[int, list[Feed]]]
    #: node -> the nodes its edges lead to (each once, in edge order), for every node
    successors: dict[str, dict[str, None]]
    #: each cycle as its nodes in order, starting from the first one in the graph
    cycles: list[list[str]]
    #: source -> the output ports of it that edges use
    used_outputs: dict[str, set[int]]
    #: node -> a rank that orders the nodes topologically (nodes on or after a cycle have
    #: none); after an incremental re-wiring ranks have gaps, may be fractions or shared by
    #: unconnected nodes, and need not follow the file
    position: dict[str, float] = field(default_factory=dict, compare=False)
    #: node -> the nodes whose edges lead to it (each once), for every node
    predecessors: dict[str, dict[str, None]] = field(default_factory=dict)
    #: one more than the largest rank: where a new node goes
    end: int = field(default=0, compare=False)

    @cached_property
    def order(self) -> list[str]:
        """Every node that is not on or downstream of a cycle, in topological order (a full
        :func:`wire` gives the one that takes the ready node first in the file)."""
        return sorted(self.position, key=self.position.__getitem__)

    def port_sources(self, node_id: str) -> dict[int, list[Feed]]:
        return self.inputs.get(node_id, {})

    def successors_of(self, node_id: str) -> list[str]:
        return list(self.successors.get(node_id, ()))

    @cached_property
    def digraph(self) -> nx.DiGraph:
        """The same connectivity as a networkx graph, made when first asked for (the editor's
        per-edit analysis needs none)."""
        digraph = nx.DiGraph()
        digraph.add_nodes_from(self.successors)
        digraph.add_edges_from((source, target) for source, targets in self.successors.items() for target in targets)
        return digraph


def wire(graph: Graph) -> Wiring:
    """Index the edges, find the cycles and a topological order of the acyclic part.

    Linear in nodes + edges, however many cycles there are. An acyclic graph (the usual
    case) takes one pass of Kahn's algorithm, choosing among the ready nodes the one first
    in the file; only a graph with cycles goes on to its strongly connected components,
    and what lies downstream of them comes from one multi-source search."""
    inputs: dict[str, dict[int, list[Feed]]] = {}
    used: dict[str, set[int]] = {}
    successors: dict[str, dict[str, None]] = {node_id: {} for node_id in graph.nodes}
    predecessors: dict[str, dict[str, None]] = {node_id: {} for node_id in graph.nodes}
    for edge in graph.edges:
        successors[edge.source][edge.target] = None
        predecessors[edge.target][edge.source] = None
        inputs.setdefault(edge.target, {}).setdefault(edge.port, []).append(Feed(edge.source, edge.source_port))
        used.setdefault(edge.source, set()).add(edge.source_port)
    ids = list(graph.nodes)
    order = _lexicographic_order(ids, successors)
    cycles: list[list[str]] = []
    if len(order) < len(ids):
        order, cycles = _with_cycles(ids, successors)
    wiring = Wiring(inputs=inputs, successors=successors, cycles=cycles, used_outputs=used,
                    position={node_id: i for i, node_id in enumerate(order)}, predecessors=predecessors,
                    end=len(order))
    wiring.__dict__["order"] = order  # known already: the cached property need not sort
    return wiring


def _lexicographic_order(ids: list[str], successors: dict[str, dict[str, None]]) -> list[str]:
    """Kahn's algorithm, the ready node first in the file each time (networkx's
    lexicographical topological sort keyed by file order); stops short where cycles block."""
    rank = {node_id: i for i, node_id in enumerate(ids)}
    waiting = dict.fromkeys(ids, 0)
    for targets in successors.values():
        for target in targets:
            waiting[target] += 1
    ready = [rank[n] for n in ids if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node_id = ids[heapq.heappop(ready)]
        order.append(node_id)
        for target in successors[node_id]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, rank[target])
    return order


def _with_cycles(ids: list[str], successors: dict[str, dict[str, None]]) -> tuple[list[str], list[list[str]]]:
    """The order of the nodes neither on nor after a cycle, and each cycle."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(ids)
    digraph.add_edges_from((source, target) for source, targets in successors.items() for target in targets)
    rank = {node_id: i for i, node_id in enumerate(ids)}
    cycles: list[list[str]] = []
    cyclic: set[str] = set()
    for component in nx.strongly_connected_components(digraph):
        if len(component) > 1 or any(digraph.has_edge(n, n) for n in component):
            cyclic |= component
            cycles.append(_cycle_in(digraph.subgraph(component), rank))
    blocked = reachable(cyclic, successors)
    acyclic = [n for n in ids if n not in blocked]
    order = _lexicographic_order(acyclic, {n: {t: None for t in successors[n] if t not in blocked} for n in acyclic})
    cycles.sort(key=lambda c: rank[c[0]])
    return order, cycles


def reachable(starts: set[str] | list[str], neighbours: dict[str, dict[str, None]]) -> set[str]:
    """``starts`` and every node reachable from them through ``neighbours`` (successors or
    predecessors), in one search."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for other in neighbours[stack.pop()]:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def _cycle_in(component: nx.DiGraph, rank: dict[str, int]) -> list[str]:
    """One cycle through a strongly connected component, rotated to start at its earliest node."""
    edges = nx.find_cycle(component)
    nodes = [u for u, _ in edges]
    start = min(range(len(nodes)), key=lambda i: rank[nodes[i]])
    return nodes[start:] + nodes[:start]
