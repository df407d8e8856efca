"""Copy/paste keeps internal edges and renames taken ids; auto-layout flows left to right."""

import pytest

from app.clipboard import copy_nodes, paste_nodes
from graph_engine import Edge, analyze, load_template
from graph_engine.layout import layered_layout


def test_copy_paste_keeps_internal_edges_and_renames():
    graph = load_template("lenet5")
    text = copy_nodes(graph, ["c1", "tanh1", "s2"])
    nodes, edges = paste_nodes(graph, text, (40.0, 40.0))
    assert [n.id for n in nodes] == ["c1_copy", "tanh1_copy", "s2_copy"]
    assert len(edges) == 2
    assert all(e.source in {n.id for n in nodes} and e.target in {n.id for n in nodes} for e in edges)
    original = graph.node("c1")
    pasted = nodes[0]
    assert pasted.params == original.params
    assert pasted.position == (original.position[0] + 40, original.position[1] + 40)
    for node in nodes:
        graph.add_node(node)
    for edge in edges:
        graph.add_edge(edge)


def test_paste_refuses_foreign_text():
    with pytest.raises(ValueError, match="no Rosenblatt nodes"):
        paste_nodes(load_template("mlp"), "hello")


def test_layered_layout_puts_every_edge_left_to_right():
    graph = load_template("resnet_style")
    positions = layered_layout(graph, wrap=None)
    assert set(positions) == set(graph.nodes)
    for edge in graph.edges:
        assert positions[edge.source][0] < positions[edge.target][0]
    assert len(set(positions.values())) == len(positions)


def test_wrapped_layout_reads_like_text():
    graph = load_template("resnet_style")
    positions = layered_layout(graph)  # wraps a deep network into bands, like lines of text
    ys = sorted({y for _, y in positions.values()})
    assert ys[-1] - ys[0] > 3 * 150.0
    for e in graph.edges:  # to the right in a band, or on to the start of a band below
        (sx, sy), (tx, ty) = positions[e.source], positions[e.target]
        assert tx > sx or ty > sy, e
    xs = [x for x, _ in positions.values()]
    assert 0.5 < (max(xs) - min(xs)) / (ys[-1] - ys[0]) < 4


def test_a_unet_reads_as_a_u():
    graph = load_template("unet_like")
    y = {n: p[1] for n, p in layered_layout(graph).items()}
    assert y["enc1"] < y["enc2"] < y["bottleneck"]      # the encoder goes down
    assert y["bottleneck"] > y["dec2"] > y["dec1"]      # the decoder comes back up
    assert y["enc1"] == y["dec1"] and y["enc2"] == y["dec2"]  # each skip runs straight across


def test_layout_survives_a_cycle():
    graph = load_template("mlp")
    graph.add_edge(Edge("relu2", "hidden1", 1))
    positions = layered_layout(graph)
    assert set(positions) == set(graph.nodes)
    assert analyze(graph).errors
