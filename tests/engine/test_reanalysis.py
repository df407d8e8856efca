"""A re-analysis after edits equals a full analysis, whatever the edits (hypothesis), and
it re-infers only what an edit can reach."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_engine import Graph, analyze
from graph_engine.model import Edge
from graph_engine.reanalysis import ChangeLog, reanalyze

LAYERS = [
    ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
    ("Conv2d", {"out_channels": 6, "kernel_size": 5}),
    ("ReLU", {}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Add", {}),
    ("Concat", {}),
    ("Flatten", {}),
    ("Linear", {"out_features": 10}),
    ("Chunk", {"chunks": 2, "dim": 1}),
    ("BatchNorm2d", {}),
]
PARAM_EDITS = [("out_channels", [2, 4, 6, 0]), ("kernel_size", [1, 3, 5, 40]), ("out_features", [3, 10]),
               ("chunks", [1, 2, 3]), ("padding", [0, 1, 2])]


def _start_graph(sizes: list[int]) -> Graph:
    graph = Graph("random")
    graph.create_node("Input", {"shape": [4, 12, 12]}, node_id="x")
    previous = "x"
    for i, index in enumerate(sizes):
        type_name, params = LAYERS[index % len(LAYERS)]
        node = graph.create_node(type_name, dict(params), node_id=f"n{i}")
        graph.connect(previous, node.id)
        previous = node.id
    graph.create_node("Output", {}, node_id="y")
    graph.connect(previous, "y")
    return graph


edit = st.tuples(st.sampled_from(["params", "connect", "disconnect", "add", "remove"]),
                 st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))


def _apply(graph: Graph, kind: str, a: int, b: int, c: int) -> None:
    ids = list(graph.nodes)
    if not ids:
        return
    node_id = ids[a % len(ids)]
    if kind == "params":
        name, values = PARAM_EDITS[b % len(PARAM_EDITS)]
        if name in graph.node(node_id).params:
            graph.set_params(node_id, {**graph.node(node_id).params, name: values[c % len(values)]})
    elif kind == "connect":
        target = ids[b % len(ids)]
        port, source_port = c % 2, (c // 2) % 2
        if not any(e.target == target and e.port == port for e in graph.in_edges(target)):
            graph.add_edge(Edge(node_id, target, port, source_port))
    elif kind == "disconnect" and graph.edges:
        graph.remove_edge(graph.edges[b % len(graph.edges)])
    elif kind == "add":
        type_name, params = LAYERS[b % len(LAYERS)]
        node = graph.create_node(type_name, dict(params))
        graph.connect(node_id, node.id)
    elif kind == "remove" and node_id not in ("x", "y"):
        graph.remove_node(node_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 100), min_size=1, max_size=8), st.lists(st.lists(edit, min_size=1, max_size=3),
                                                                       min_size=1, max_size=6))
def test_reanalysis_equals_a_full_analysis(sizes, steps):
    graph = _start_graph(sizes)
    log = ChangeLog()
    log.follow(graph)
    current = analyze(graph)
    for step in steps:
        for kind, a, b, c in step:
            try:
                _apply(graph, kind, a, b, c)
            except Exception as refused:  # the model refuses some edits (a duplicate edge)
                if type(refused).__name__ != "GraphError":
                    raise
        before = {n: current.info(n) for n in graph.nodes}
        again = reanalyze(current, log.take())
        full = analyze(graph)
        assert again.nodes == full.nodes
        assert again.diagnostics == full.diagnostics
        assert set(again.order) == set(full.order)
        rank = again.wiring.position
        assert all(rank[e.source] < rank[e.target] for e in graph.edges if e.source in rank and e.target in rank)
        assert again.wiring == full.wiring
        assert again.sums == full.sums and again.unknown_count == len(full.unknown_nodes)
        changed = again.changed_since(current)
        if changed is not None:
            assert {n for n in graph.nodes if before[n] != again.info(n)} <= changed
        current = again


def _chain(length: int) -> Graph:
    graph = Graph("chain")
    graph.create_node("Input", {"shape": [16]}, node_id="x")
    previous = "x"
    for i in range(length):
        node = graph.create_node("Linear" if i % 2 == 0 else "ReLU",
                                 {"out_features": 16} if i % 2 == 0 else {}, node_id=f"n{i}")
        graph.connect(previous, node.id)
        previous = node.id
    graph.create_node("Output", {}, node_id="y")
    graph.connect(previous, "y")
    return graph


def test_an_edit_that_keeps_the_output_shape_re_infers_one_node():
    graph = _chain(200)
    log = ChangeLog()
    log.follow(graph)
    first = analyze(graph)
    graph.set_params("n100", {**graph.node("n100").params, "bias": False})
    again = reanalyze(first, log.take())
    assert again.changed_since(first) == {"n100"}
    assert again.info("n102") is first.info("n102")  # untouched: the same object
    assert again.total_params == analyze(graph).total_params == first.total_params - 16


def test_a_shape_change_follows_downstream_until_it_is_absorbed():
    graph = _chain(200)
    log = ChangeLog()
    log.follow(graph)
    first = analyze(graph)
    graph.set_params("n100", {**graph.node("n100").params, "out_features": 8})
    again = reanalyze(first, log.take())
    # n100 and n101 (ReLU) carry 8 features now; n102 takes 8 in, still gives 16 out
    assert again.changed_since(first) == {"n100", "n101", "n102"}
    assert again.info("n102").out_shape == (16,)
    assert again.diagnostics == analyze(graph).diagnostics


def test_a_changed_graph_of_blocks_is_analysed_whole():
    graph = _chain(4)
    log = ChangeLog()
    log.follow(graph)
    first = analyze(graph)
    touched = log.take()
    touched.whole = True
    assert reanalyze(first, touched).changed_since(first) is None


def test_nothing_touched_gives_the_same_analysis():
    graph = _chain(4)
    first = analyze(graph)
    log = ChangeLog()
    log.follow(graph)
    graph.move_node("n1", (10.0, 20.0))
    assert reanalyze(first, log.take()) is first


def test_fewer_outputs_on_a_source_is_a_problem_of_the_node_it_feeds():
    graph = Graph("chunks")
    graph.create_node("Input", {"shape": [4, 8, 8]}, node_id="x")
    graph.create_node("Chunk", {"chunks": 2, "dim": 1}, node_id="split")
    graph.create_node("Add", {}, node_id="add")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "split")
    graph.connect("split", "add", 0, 0)
    graph.connect("split", "add", 1, 1)
    graph.connect("add", "y")
    log = ChangeLog()
    log.follow(graph)
    first = analyze(graph)
    assert first.ok
    graph.set_params("split", {**graph.node("split").params, "chunks": 1})
    again = reanalyze(first, log.take())
    assert [d.code for d in again.errors] == ["no-such-output"]
    assert again.diagnostics == analyze(graph).diagnostics
    assert {"split", "add"} <= again.changed_since(first)
