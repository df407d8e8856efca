"""An undo or redo that returns the graph to a state it was in lately takes that state's
analysis again instead of re-inferring it (graph_engine.analysis_memory)."""

from __future__ import annotations

import random

from app.controller import EditorController
from app.document import Document
from graph_engine import analyze, load_template


def _same(analysis, graph) -> bool:
    fresh = analyze(graph)
    return analysis.diagnostics == fresh.diagnostics and analysis.nodes == fresh.nodes


def test_an_undo_returns_to_the_very_analysis_of_before_and_a_redo_to_the_edits(qtbot):
    document = Document(load_template("resnet_style"))
    controller = EditorController(document)
    conv = next(n.id for n in document.graph if n.type == "Conv2d")
    before = document.analysis
    controller.edit_params(conv, {"out_channels": document.graph.node(conv).params["out_channels"] + 1})
    edited = document.analysis
    assert edited is not before and _same(edited, document.graph)
    assert before.changed_since(edited) == edited.changed_since(before)  # the canvas redraws those nodes
    document.undo_stack.undo()
    assert document.analysis is before and _same(before, document.graph)
    document.undo_stack.redo()
    assert document.analysis is edited and _same(edited, document.graph)


def test_a_merged_edit_is_a_new_state_and_never_served_an_older_analysis(qtbot):
    """Steps of one value merge into one command: the state after it changes while the undo
    stack's index does not; states are told apart by what the graph holds, not by the index."""
    document = Document(load_template("mlp"))
    controller = EditorController(document)
    linear = next(n.id for n in document.graph if n.type == "Linear")
    width = document.graph.node(linear).params["out_features"]
    original = document.analysis
    for step in (1, 2, 3):
        controller.edit_params(linear, {"out_features": width + step}, continuing=True)
        assert _same(document.analysis, document.graph)
    assert document.undo_stack.count() == 1  # merged
    document.undo_stack.undo()
    assert document.analysis is original and _same(original, document.graph)
    document.undo_stack.redo()
    assert document.graph.node(linear).params["out_features"] == width + 3
    assert _same(document.analysis, document.graph)


def test_random_edits_undos_and_redos_always_show_the_graphs_own_analysis(qtbot):
    document = Document(load_template("resnet_style"))
    controller = EditorController(document)
    rng = random.Random(11)
    for step in range(40):
        graph = document.graph
        convs = [n.id for n in graph if n.type == "Conv2d"]
        relus = [n.id for n in graph if n.type == "ReLU"]
        kind = rng.choice(["channels", "channels", "delete", "add", "undo", "undo", "redo"])
        if kind == "channels" and convs:
            node = rng.choice(convs)
            controller.edit_params(node, {"out_channels": rng.choice([8, 16, 17])})
        elif kind == "delete" and relus:
            controller.delete_and_bridge(rng.choice(relus))
        elif kind == "add":
            controller.add_layer("ReLU", after=rng.choice(list(graph.nodes)))
        elif kind == "undo" and document.undo_stack.canUndo():
            document.undo_stack.undo()
        elif kind == "redo" and document.undo_stack.canRedo():
            document.undo_stack.redo()
        assert _same(document.analysis, document.graph), (step, kind)


def test_the_state_an_undo_returns_to_stays_remembered_over_many_edit_and_undo_rounds(qtbot):
    document = Document(load_template("resnet_style"))
    controller = EditorController(document)
    conv = next(n.id for n in document.graph if n.type == "Conv2d")
    original = document.analysis
    for width in range(9, 17):  # more rounds than the memory holds states
        controller.edit_params(conv, {"out_channels": width})
        document.undo_stack.undo()
        assert document.analysis is original
