"""A run's network signature: what makes the trained network, under the names it has now."""

from __future__ import annotations

from dataclasses import replace

from graph_engine import load_template
from graph_engine.training.snapshot import network_signature


def test_a_renamed_node_signs_alike_under_the_renaming_and_a_real_change_does_not():
    graph = load_template("digits_cnn")
    before = load_template("digits_cnn")
    conv = next(n.id for n in graph if n.type == "Conv2d")
    node, edges = graph.remove_node(conv)
    graph.add_node(replace(node, id="features"))
    for edge in edges:
        graph.add_edge(replace(edge, source="features" if edge.source == conv else edge.source,
                               target="features" if edge.target == conv else edge.target))
    assert network_signature(graph) != network_signature(before)
    renaming = {conv: "features"}.get
    assert network_signature(graph) == network_signature(before, lambda n: renaming(n, n))
    graph.set_params("features", {"out_channels": graph.node("features").params["out_channels"] + 1})
    assert network_signature(graph) != network_signature(before, lambda n: renaming(n, n))
