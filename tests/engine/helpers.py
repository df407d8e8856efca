"""Small builders for engine tests."""

from graph_engine import Graph


def chain(*layers, name="test") -> Graph:
    """A linear graph from (id, type, params) triples, wired in order."""
    graph = Graph(name)
    previous = None
    for node_id, type_name, params in layers:
        graph.create_node(type_name, params, node_id=node_id)
        if previous is not None:
            graph.connect(previous, node_id)
        previous = node_id
    return graph
