"""Undo: every gesture is one command; undoing them all restores the file byte for byte."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import commands
from app.document import Document
from graph_engine import Edge, GraphError, Node, dumps, layer_types, load_template

TYPES = [s.type for s in layer_types()]


def _value(draw, spec):
    """A value the ParamSpec accepts."""
    if spec.kind == "bool":
        return draw(st.booleans())
    if spec.kind == "choice":
        return draw(st.sampled_from(spec.choices))
    if spec.kind == "float":
        low = spec.minimum if spec.minimum is not None else -10.0
        high = spec.maximum if spec.maximum is not None else 10.0
        return draw(st.floats(low, min(high, low + 10.0), allow_nan=False))
    if spec.kind == "shape":
        return draw(st.lists(st.integers(1, 16), min_size=spec.min_length, max_size=min(3, spec.max_length)))
    low = int(spec.minimum if spec.minimum is not None else 0)
    value = draw(st.integers(low, low + 6))
    if spec.kind in ("int_or_pair", "padding", "optional_int_or_pair") and spec.pair_allowed \
            and draw(st.booleans()):
        return [value, draw(st.integers(low, low + 6))]
    return value


def _gesture(draw, document):
    graph = document.graph
    ids = list(graph.nodes)
    edges = graph.edges
    kind = draw(st.sampled_from(["add", "remove", "connect", "disconnect", "move", "params",
                                 "merge", "label", "insert"]))
    if kind == "add" or not ids:
        type_name = draw(st.sampled_from(TYPES))
        node = Node(graph.unique_id(type_name), type_name, {}, (draw(st.integers(-500, 500)), 0.0))
        return commands.add_nodes(graph, [node])
    if kind == "remove":
        chosen = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
        cut = draw(st.lists(st.sampled_from(edges), max_size=2, unique=True)) if edges else []
        return commands.remove(graph, chosen, cut) if chosen or cut else None
    if kind == "connect":
        edge = Edge(draw(st.sampled_from(ids)), draw(st.sampled_from(ids)), draw(st.integers(0, 2)))
        return None if edge in edges else commands.connect(graph, edge)
    if kind == "disconnect" and edges:
        return commands.remove(graph, [], [draw(st.sampled_from(edges))])
    if kind == "move":
        chosen = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
        return commands.move(graph, {n: (draw(st.integers(-900, 900)), draw(st.integers(-900, 900)))
                                     for n in chosen})
    if kind in ("params", "merge"):
        node = graph.node(draw(st.sampled_from(ids)))
        from graph_engine import get_spec
        spec = get_spec(node.type)
        if not spec.params:
            return None
        param = draw(st.sampled_from(spec.params))
        try:
            return commands.set_params(graph, node.id, {param.name: _value(draw, param)},
                                       continuing=kind == "merge")
        except GraphError:
            return None
    if kind == "label":
        return commands.set_label(graph, draw(st.sampled_from(ids)), draw(st.text(max_size=6)))
    if kind == "insert" and edges:
        edge = draw(st.sampled_from(edges))
        return commands.insert_on_input(graph, edge.target, edge.port,
                                        Node(graph.unique_id("ReLU"), "ReLU", {}, (0.0, 0.0)))
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), template=st.sampled_from(["digits_cnn", "resnet_style", "unet_like"]))
def test_undo_all_restores_the_file_and_redo_all_reapplies(qapp, data, template):
    document = Document(load_template(template))
    original = dumps(document.graph)
    for _ in range(data.draw(st.integers(1, 25))):
        command = _gesture(data.draw, document)
        if command is not None:
            document.push(command)
    edited = dumps(document.graph)
    while document.undo_stack.canUndo():
        document.undo_stack.undo()
    assert dumps(document.graph) == original
    assert not document.dirty
    while document.undo_stack.canRedo():
        document.undo_stack.redo()
    assert dumps(document.graph) == edited


def test_a_spin_box_drag_is_one_undo_step(qapp):
    document = Document(load_template("lenet5"))
    for value in (7, 8, 9, 10):
        document.push(commands.set_params(document.graph, "c1", {"out_channels": value}, continuing=True))
    assert document.undo_stack.count() == 1
    assert document.graph.node("c1").params["out_channels"] == 10
    document.undo_stack.undo()
    assert document.graph.node("c1").params["out_channels"] == 6


def test_refused_values_raise_with_the_reason(qapp):
    document = Document(load_template("lenet5"))
    with pytest.raises(GraphError, match="c1: kernel_size must be ≥ 1, got -3"):
        commands.set_params(document.graph, "c1", {"kernel_size": -3})
    assert document.undo_stack.count() == 0


def test_analysis_follows_every_command_and_undo(qapp):
    document = Document(load_template("mlp"))
    seen = []
    document.analysis_changed.connect(seen.append)
    document.push(commands.remove(document.graph, ["flatten"]))
    document.push(commands.connect(document.graph, Edge("pixels", "hidden1")))
    assert [d.fix.layer_type for d in document.analysis.errors] == ["Flatten"]
    fix = document.analysis.errors[0].fix
    document.push(commands.insert_on_input(document.graph, fix.node_id, fix.port,
                                           Node("flat", "Flatten", {}, (0.0, 0.0))))
    assert document.analysis.ok
    document.undo_stack.undo()
    assert not document.analysis.ok
    assert len(seen) == 4
    assert document.title == "MLP *"
