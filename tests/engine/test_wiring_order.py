"""wire()'s own Kahn order equals networkx's lexicographical topological sort keyed by
file order, and its cycles and blocked nodes are those the networkx reference finds."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine import Graph
from graph_engine.model import Edge
from graph_engine.traversal import wire


def _reference(graph: Graph) -> tuple[list[str], set[str]]:
    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.nodes)
    digraph.add_edges_from((e.source, e.target) for e in graph.edges)
    rank = {n: i for i, n in enumerate(graph.nodes)}
    cyclic = set()
    for component in nx.strongly_connected_components(digraph):
        if len(component) > 1 or any(digraph.has_edge(n, n) for n in component):
            cyclic |= component
    blocked = set(cyclic)
    for node_id in cyclic:
        blocked |= nx.descendants(digraph, node_id)
    acyclic = digraph.subgraph(n for n in digraph if n not in blocked)
    return list(nx.lexicographical_topological_sort(acyclic, key=rank.__getitem__)), cyclic


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14), st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13), st.integers(0, 2)),
                                    max_size=30))
def test_order_and_cycles_match_networkx(count, edges):
    graph = Graph("random")
    for i in range(count):
        graph.create_node("ReLU", {}, node_id=f"n{(i * 7) % 17}")  # file order is not name order
    ids = list(graph.nodes)
    for a, b, port in edges:
        edge = Edge(ids[a % count], ids[b % count], port)
        if edge not in graph.edges:
            graph.add_edge(edge)
    wiring = wire(graph)
    order, cyclic = _reference(graph)
    assert wiring.order == order
    assert {n for cycle in wiring.cycles for n in cycle} <= cyclic
    assert bool(wiring.cycles) == bool(cyclic)
    assert set(wiring.digraph.edges) == {(e.source, e.target) for e in graph.edges}
