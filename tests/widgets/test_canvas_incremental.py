"""The canvas redraws only what a re-analysis changed, and ends up drawing exactly what a
scene built afresh from a full analysis draws."""

from __future__ import annotations

import random

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt

from app.controller import EditorController
from app.document import Document
from graph_engine import Graph, analyze
from widgets.canvas import GraphScene


def _drawn(scene: GraphScene) -> dict:
    scene.freshen()  # the texts a view would draw (those waiting for one, too)
    nodes = {nid: (item._shape_text, item._params_text, item._severity, tuple(item._messages),
                   tuple(map(tuple, item._port_shapes))) for nid, item in scene.node_items().items()}
    edges = {edge: item._label for edge, item in scene.edge_items().items()}
    return {"nodes": nodes, "edges": edges}


def _residual() -> Graph:
    graph = Graph("residual")
    graph.create_node("Input", {"shape": [3, 16, 16]}, node_id="x", position=(0, 0))
    previous = "x"
    for b in range(6):
        skip = previous
        for i, (type_name, params) in enumerate([("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                                                 ("ReLU", {}), ("Add", {})]):
            node = graph.create_node(type_name, params, node_id=f"b{b}_{i}", position=(200 * i, 150 * b))
            graph.connect(previous, node.id)
            previous = node.id
        graph.connect(skip, previous, 1)
    graph.create_node("Flatten", {}, node_id="flat", position=(0, 1000))
    graph.connect(previous, "flat")
    graph.create_node("Output", {}, node_id="y", position=(0, 1200))
    graph.connect("flat", "y")
    return graph


def test_incremental_redraw_matches_a_fresh_scene(qtbot):
    graph = _residual()
    document = Document(graph)
    scene = GraphScene(graph)
    scene.set_analysis(document.analysis)
    document.analysis_changed.connect(scene.set_analysis)
    controller = EditorController(document)
    rng = random.Random(7)
    convs = [n for n in graph.nodes if graph.node(n).type == "Conv2d"]
    for step in range(25):
        kind = rng.choice(["channels", "kernel", "delete", "add", "undo"])
        if kind == "channels":
            controller.edit_params(rng.choice(convs), {"out_channels": rng.choice([3, 8, 9])})
        elif kind == "kernel":
            controller.edit_params(rng.choice(convs), {"kernel_size": rng.choice([1, 3, 5]), "padding": 0})
        elif kind == "delete":
            candidates = [n for n in graph.nodes if graph.node(n).type == "ReLU"]
            if candidates:
                controller.delete_and_bridge(rng.choice(candidates))
        elif kind == "add":
            controller.add_layer("ReLU", after=rng.choice(list(graph.nodes)))
        elif document.undo_stack.canUndo():
            document.undo_stack.undo()
        assert document.analysis.diagnostics == analyze(graph).diagnostics, step
        fresh = GraphScene(graph)
        fresh.set_analysis(analyze(graph))
        assert _drawn(scene) == _drawn(fresh), (step, kind)
        fresh.detach()
    scene.detach()


def test_an_edit_redraws_only_the_nodes_it_changed(qtbot, monkeypatch):
    graph = _residual()
    document = Document(graph)
    scene = GraphScene(graph)
    scene.set_analysis(document.analysis)
    document.analysis_changed.connect(scene.set_analysis)
    redrawn: list[str] = []
    original = scene._mark_nodes
    monkeypatch.setattr(scene, "_mark_nodes", lambda ids, problems: (redrawn.extend(ids), original(ids, problems)))
    EditorController(document).edit_params("b3_0", {"bias": False})
    assert redrawn == ["b3_0"]
    scene.detach()


def test_an_edge_label_stays_inside_its_bounds_and_the_scene_finds_it_there(qtbot):
    """A label's box is always inside the edge's bounds (Qt draws and hit-tests an item only
    there); a wider label grows them, a narrower or empty one leaves them as they were."""
    graph = _residual()
    scene = GraphScene(graph)
    scene.set_analysis(analyze(graph))
    edge, item = next(iter(scene.edge_items().items()))
    before = item.boundingRect()
    item.set_label("")
    assert item.boundingRect() == before  # no geometry change for a label that went away
    item.set_label("×".join(["1024"] * 40))  # wider than the curve
    assert item.boundingRect().contains(item._label_rect) and item.boundingRect() != before
    corner = QRectF(item._label_rect.bottomRight() - QPointF(1, 1), QSizeF(0.5, 0.5))
    assert item in scene.items(corner, Qt.ItemSelectionMode.IntersectsItemBoundingRect)  # the index knows
    item.set_label("8")
    assert item.boundingRect().contains(item._label_rect)
    item.update_path()  # the curve's own change fits the bounds to what is drawn now
    assert item.boundingRect().width() < before.width() + 1


def test_a_shape_change_redraws_only_what_a_view_shows_and_the_rest_when_it_comes_into_view(qtbot, monkeypatch):
    """At overview zoom (no texts drawn) a cascade of shape changes repaints only the cards whose
    problem changed; zoomed in, only the cards in view take their new texts at once, and a card
    scrolled into view has them before it is drawn. Read, every text is current."""
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    from widgets.canvas import GraphView
    from widgets.canvas.edge_item import EdgeItem
    from widgets.canvas.node_item import NodeItem

    graph = _residual()
    graph.set_params("x", {"shape": [8, 16, 16]})  # every block valid: the Adds' channels match
    document = Document(graph)
    scene = GraphScene(graph)
    scene.set_analysis(document.analysis)
    document.analysis_changed.connect(scene.set_analysis)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(420, 260)
    view.show()
    qtbot.waitExposed(view)
    repainted: list = []
    for cls in (NodeItem, EdgeItem):
        monkeypatch.setattr(cls, "update", lambda self, *args: repainted.append(self))
    controller = EditorController(document)
    for zoom in (0.1, 1.0):
        view.resetTransform()
        view.scale(zoom, zoom)
        view.centerOn(scene.node_item("b2_0"))
        qtbot.wait(10)
        before = {n: item.severity for n, item in scene.node_items().items()}
        repainted.clear()
        controller.edit_params("b2_0", {"out_channels": 16})  # the Add after it fails, all below it unknown
        after = {n: item.severity for n, item in scene.node_items().items()}
        cards = {i.node.id for i in repainted if isinstance(i, NodeItem)}
        labels = [i for i in repainted if isinstance(i, EdgeItem)]
        problem_changed = {n for n in after if after[n] != before[n]}
        assert "b2_2" in problem_changed
        shown = {i.node_id for i in scene.items(view.mapToScene(view.viewport().rect()).boundingRect())
                 if isinstance(i, NodeItem)}
        if QStyleOptionGraphicsItem.levelOfDetailFromTransform(view.transform()) < 0.35:
            assert cards - {"b2_0"} == problem_changed and not labels  # (and the edited card itself)
        else:
            assert cards - problem_changed - {"b2_0"} <= shown and labels
            far = scene.node_item("b5_0")  # far below: not on screen, its texts still wait
            assert "b5_0" not in shown and "b5_0" in scene._stale
            assert not shown & scene._stale  # what is on screen is current
            view.centerOn(far)
            qtbot.waitUntil(lambda: "b5_0" not in scene._stale)  # drawn: made current first
            assert far._shape_text == ""  # unknown below the failing Add
        fresh = GraphScene(graph)
        fresh.set_analysis(analyze(graph))
        assert _drawn(scene) == _drawn(fresh)  # what anyone reads is current
        fresh.detach()
        document.undo_stack.undo()
    scene.detach()
