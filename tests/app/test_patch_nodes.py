"""The Patches view's layer list, kept edit by edit, equals the list made from scratch."""

from __future__ import annotations

import random

from app.patch_nodes import PatchNodes
from graph_engine import Graph, analyze
from graph_engine.patch_choice import patch_candidates
from graph_engine.reanalysis import ChangeLog, reanalyze


def test_the_list_follows_edits():
    graph = Graph("convs")
    graph.create_node("Input", {"shape": [3, 32, 32]}, node_id="x")
    previous = "x"
    for i in range(12):
        node = graph.create_node("Conv2d" if i % 2 == 0 else "ReLU",
                                 {"out_channels": 4, "kernel_size": 3} if i % 2 == 0 else {}, node_id=f"n{i}")
        graph.connect(previous, node.id)
        previous = node.id
    graph.create_node("Flatten", {}, node_id="flat")
    graph.connect(previous, "flat")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("flat", "y")
    log = ChangeLog()
    log.follow(graph)
    keeper = PatchNodes()
    analysis = analyze(graph)
    assert keeper.update(analysis) == patch_candidates(graph, analysis)
    rng = random.Random(3)
    for _ in range(30):
        node_id = f"n{rng.randrange(0, 12, 2)}"
        kind = rng.choice(["channels", "kernel", "remove-edge"])
        if kind == "channels":
            graph.set_params(node_id, {**graph.node(node_id).params, "out_channels": rng.choice([2, 4, 8])})
        elif kind == "kernel":
            graph.set_params(node_id, {**graph.node(node_id).params, "kernel_size": rng.choice([1, 3, 40])})
        elif graph.in_edges(node_id):
            edge = graph.in_edges(node_id)[0]
            graph.remove_edge(edge)
            graph.add_edge(edge)
        analysis = reanalyze(analysis, log.take())
        assert keeper.update(analysis) == patch_candidates(graph, analyze(graph))
