"""The one walk every pass shares: who feeds whom, and a topological order.

Validation, shape inference, the compiler and the code exporter all take their
order and their per-port inputs from :func:`wire`, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    digraph: nx.DiGraph
    #: every node that is not on or downstream of a cycle, in topological order
    order: list[str]
    #: each cycle as its nodes in order, starting from the first one in the graph
    cycles: list[list[str]]
    #: source -> the output ports of it that edges use
    used_outputs: dict[str, set[int]]
    #: node -> its index in ``order`` (nodes on or after a cycle have none)
    position: dict[str, int] = field(default_factory=dict)

    def port_sources(self, node_id: str) -> dict[int, list[Feed]]:
        return self.inputs.get(node_id, {})


def wire(graph: Graph) -> Wiring:
    """Index the edges, find the cycles and a topological order of the acyclic part.

    Linear in nodes + edges, however many cycles there are: the cycles come from one pass
    over the strongly connected components, and what lies downstream of them from one
    multi-source search."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.nodes)
    inputs: dict[str, dict[int, list[Feed]]] = {}
    used: dict[str, set[int]] = {}
    for edge in graph.edges:
        digraph.add_edge(edge.source, edge.target)
        inputs.setdefault(edge.target, {}).setdefault(edge.port, []).append(Feed(edge.source, edge.source_port))
        used.setdefault(edge.source, set()).add(edge.source_port)

    rank = {node_id: i for i, node_id in enumerate(graph.nodes)}
    cycles: list[list[str]] = []
    cyclic: set[str] = set()
    for component in nx.strongly_connected_components(digraph):
        if len(component) > 1 or any(digraph.has_edge(n, n) for n in component):
            cyclic |= component
            cycles.append(_cycle_in(digraph.subgraph(component), rank))
    if cyclic:
        blocked = _downstream(digraph, cyclic)
        acyclic = digraph.subgraph(n for n in digraph if n not in blocked)
    else:
        acyclic = digraph
    order = list(nx.lexicographical_topological_sort(acyclic, key=rank.__getitem__))
    cycles.sort(key=lambda c: rank[c[0]])
    return Wiring(inputs=inputs, digraph=digraph, order=order, cycles=cycles, used_outputs=used,
                  position={node_id: i for i, node_id in enumerate(order)})


def _downstream(digraph: nx.DiGraph, starts: set[str]) -> set[str]:
    """``starts`` and every node reachable from them, in one search."""
    seen = set(starts)
    stack = list(starts)
    while stack:
        for successor in digraph.successors(stack.pop()):
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return seen


def _cycle_in(component: nx.DiGraph, rank: dict[str, int]) -> list[str]:
    """One cycle through a strongly connected component, rotated to start at its earliest node."""
    edges = nx.find_cycle(component)
    nodes = [u for u, _ in edges]
    start = min(range(len(nodes)), key=lambda i: rank[nodes[i]])
    return nodes[start:] + nodes[:start]
