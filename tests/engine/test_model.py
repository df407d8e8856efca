"""The graph model: mutators, events, ids."""

import pytest

from graph_engine import Edge, Graph, GraphError, Node, check_node_id


def test_mutators_emit_events_that_describe_the_change():
    graph = Graph()
    seen = []
    for signal in (graph.node_added, graph.node_removed, graph.node_changed, graph.edge_added,
                   graph.edge_removed):
        signal.connect(lambda *args, name=signal.name: seen.append((name, args)))
    a = graph.create_node("Input", {"shape": [4]})
    b = graph.create_node("Linear", {"out_features": 3}, position=(10, 20))
    edge = graph.connect(a.id, b.id)
    old = graph.set_params(b.id, {"out_features": 5})
    graph.move_node(b.id, (1, 2))
    graph.remove_node(a.id)
    assert [name for name, _ in seen] == ["node_added", "node_added", "edge_added", "node_changed",
                                          "node_changed", "edge_removed", "node_removed"]
    assert a.id == "input_1" and b.id == "linear_1"
    assert old.params["out_features"] == 3
    assert graph.node(b.id).params["out_features"] == 5
    assert graph.node(b.id).position == (1.0, 2.0)
    assert seen[5][1] == (edge,)


def test_remove_node_returns_what_undo_needs():
    graph = Graph()
    graph.create_node("Input", {"shape": [4]}, node_id="x")
    graph.create_node("ReLU", node_id="r")
    graph.connect("x", "r")
    node, edges = graph.remove_node("x")
    graph.add_node(node)
    for edge in edges:
        graph.add_edge(edge)
    assert graph.edges == [Edge("x", "r")]


def test_refusals():
    graph = Graph()
    graph.create_node("ReLU", node_id="r")
    with pytest.raises(GraphError, match="duplicate node id 'r'"):
        graph.create_node("ReLU", node_id="r")
    with pytest.raises(GraphError, match="no node 'ghost'"):
        graph.connect("r", "ghost")
    with pytest.raises(GraphError, match="out_features must be ≥ 1"):
        graph.create_node("Linear", {"out_features": 0})
    with pytest.raises(GraphError, match="p must be ≤ 1"):
        graph.add_node(Node("d", "Dropout", {"p": 2.0}))
    graph.create_node("Linear", node_id="fc")
    with pytest.raises(GraphError, match="bias must be true or false"):
        graph.set_params("fc", {"bias": "yes"})
    assert graph.node("fc").params["bias"] is True


@pytest.mark.parametrize("bad", ["", "2x", "a-b", "def", "None", "self", "forward", "training",
                                 "état", "a b", 3])
def test_ids_that_cannot_be_python_names_are_refused(bad):
    with pytest.raises(GraphError):
        check_node_id(bad)


def test_unique_ids_skip_taken_ones():
    graph = Graph()
    graph.create_node("Conv2d", node_id="conv2d_1")
    assert graph.create_node("Conv2d").id == "conv2d_2"


def test_the_written_out_module_attributes_match_the_installed_torch():
    """Node ids may not shadow a compiled module's attributes; the list is written out so that
    loading a graph never imports torch, and must follow torch when it changes."""
    import re

    from torch import fx, nn

    from graph_engine.module_names import MODULE_ATTRIBUTES

    # names torch._dynamo patches onto nn.Module once it has been imported ("___needs_…") depend
    # on what ran earlier in this process, not on torch's version
    actual = {name for name in dir(fx.GraphModule(nn.Module(), fx.Graph()))
              if re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", name) and not name.startswith("___")}
    assert MODULE_ATTRIBUTES == actual
    with pytest.raises(GraphError, match="reserved"):
        check_node_id("state_dict")


def test_the_lazily_loaded_names_are_the_modules_own():
    """compile_graph and the interop names load torch on first use (issue 18), and are then the
    very objects their modules define; an unknown name is still an AttributeError."""
    import graph_engine
    import graph_engine.interop
    from graph_engine import compiler
    from graph_engine.interop import onnx_export

    assert graph_engine.compile_graph is compiler.compile_graph
    assert graph_engine.interop.export_onnx is onnx_export.export_onnx
    assert {"compile_graph", "resolve_device"} <= set(dir(graph_engine))
    assert set(graph_engine.interop.__all__) <= set(dir(graph_engine.interop))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        graph_engine.nothing_here  # noqa: B018
