"""The one walk every pass shares: who feeds whom, and a topological order.

Validation, shape inference, the compiler and the code exporter all take their
order and their per-port inputs from :func:`wire`, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from graph_engine.model import Graph


@dataclass(frozen=True)
class Wiring:
    """The graph's connectivity, indexed once."""

    #: target -> port -> sources feeding that port (more than one is an error)
    inputs: dict[str, dict[int, list[str]]]
    digraph: nx.DiGraph
    #: every node that is not on or downstream of a cycle, in topological order
    order: list[str]
    #: each cycle as its nodes in order, starting from the first one in the graph
    cycles: list[list[str]]

    def port_sources(self, node_id: str) -> dict[int, list[str]]:
        return self.inputs.get(node_id, {})


def wire(graph: Graph) -> Wiring:
    """Index the edges, find the cycles and a topological order of the acyclic part."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.nodes)
    inputs: dict[str, dict[int, list[str]]] = {}
    for edge in graph.edges:
        digraph.add_edge(edge.source, edge.target)
        inputs.setdefault(edge.target, {}).setdefault(edge.port, []).append(edge.source)

    cycles: list[list[str]] = []
    cyclic: set[str] = set()
    for component in nx.strongly_connected_components(digraph):
        if len(component) > 1 or any(digraph.has_edge(n, n) for n in component):
            cyclic |= component
            cycles.append(_cycle_in(digraph.subgraph(component), graph))
    if cyclic:
        blocked = set(cyclic)
        for node in cyclic:
            blocked |= nx.descendants(digraph, node)
        acyclic = digraph.subgraph(n for n in digraph if n not in blocked)
    else:
        acyclic = digraph
    rank = {node_id: i for i, node_id in enumerate(graph.nodes)}
    order = list(nx.lexicographical_topological_sort(acyclic, key=rank.__getitem__))
    cycles.sort(key=lambda c: rank[c[0]])
    return Wiring(inputs=inputs, digraph=digraph, order=order, cycles=cycles)


def _cycle_in(component: nx.DiGraph, graph: Graph) -> list[str]:
    """One cycle through a strongly connected component, rotated to start at its earliest node."""
    edges = nx.find_cycle(component)
    nodes = [u for u, _ in edges]
    position = {node_id: i for i, node_id in enumerate(graph.nodes)}
    start = min(range(len(nodes)), key=lambda i: position[nodes[i]])
    return nodes[start:] + nodes[:start]
