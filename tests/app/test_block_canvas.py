"""Blocks on the canvas (issue 14), through the real window: a use shows its definition's
named ports and its block params; double-click enters the definition (breadcrumb), an edit
there is one undo step that changes every use; Escape and the breadcrumb leave; a use
expands in place, read-only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.main_window import MainWindow
from graph_engine import Graph, Node, analyze, dumps, load_template
from graph_engine.blocks import BlockDefinition
from graph_engine.params import ParamSpec
from tests.qt_helpers import at, body_point


def residual() -> BlockDefinition:
    inner = Graph("Residual", template=True)
    inner.add_node(Node("x", "Input", {"shape": [8, 8, 8]}, (0.0, 0.0)))
    inner.add_node(Node("conv1", "Conv2d", {"out_channels": {"$param": "channels"}, "kernel_size": 3,
                                            "padding": 1}, (240.0, 0.0)))
    inner.add_node(Node("relu", "ReLU", {}, (480.0, 0.0)))
    inner.add_node(Node("conv2", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, (720.0, 0.0)))
    inner.add_node(Node("add", "Add", {}, (960.0, 0.0)))
    inner.add_node(Node("out", "Output", {}, (1200.0, 0.0)))
    for a, b in [("x", "conv1"), ("conv1", "relu"), ("relu", "conv2"), ("conv2", "add"), ("add", "out")]:
        inner.connect(a, b)
    inner.connect("x", "add", port=1)
    return BlockDefinition("Residual", inner, (ParamSpec("channels", "int", 8, "inner width", minimum=1),))


def two_uses() -> Graph:
    graph = Graph("two blocks")
    graph.set_block(residual())
    graph.add_node(Node("image", "Input", {"shape": [8, 8, 8]}, (0.0, 0.0)))
    graph.add_node(Node("block1", "Residual", {"channels": 4}, (260.0, 0.0)))
    graph.add_node(Node("block2", "Residual", {"channels": 6}, (520.0, 0.0)))
    graph.add_node(Node("flat", "Flatten", {}, (780.0, 0.0)))
    graph.add_node(Node("out", "Output", {}, (1040.0, 0.0)))
    for a, b in [("image", "block1"), ("block1", "block2"), ("block2", "flat"), ("flat", "out")]:
        graph.connect(a, b)
    return graph


@pytest.fixture
def window(qtbot):
    window = MainWindow(two_uses(), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.view.fit()
    yield window
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()


def double_click(window, item) -> None:
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      at(window.view, body_point(item)))


def test_a_use_shows_the_definitions_named_ports_and_its_block_params(window):
    item = window.scene.node_item("block1")
    assert item.is_block_use and item.port_names() == (["x"], ["out"])
    assert item.params_label  # its parameter count, summed over its inside
    window.scene.select_ids(["block1"])
    inspector = window.inspector
    assert inspector.field_names() == ["channels"] and inspector.editor("channels").value() == 4
    assert "Residual" in inspector.info_labels["type"].text() and "block" in inspector.info_labels["type"].text()
    inspector.editor("channels").setValue(5)
    inspector.editor("channels").editingFinished.emit()
    assert window.document.graph.node("block1").params == {"channels": 5}


def test_double_click_enters_the_definition_and_an_edit_there_changes_every_use_in_one_step(window, qtbot):
    document = window.document
    before = dumps(document.graph)
    params_before = document.analysis.total_params
    double_click(window, window.scene.node_item("block1"))
    assert window.blocks.path == ["Residual"]
    assert window.blocks.breadcrumb.isVisible() and window.blocks.breadcrumb.texts() == ["two blocks", "Residual (block)"]
    assert set(window.scene.node_items()) == {"x", "conv1", "relu", "conv2", "add", "out"}
    # shapes as the first use sees them
    assert window.scene.node_item("conv1").shape_label == "4×8×8"
    # a layer's param that refers to a block param is shown, not editable
    window.scene.select_ids(["conv1"])
    assert not window.inspector.editor("out_channels").isEnabled()
    window.scene.select_ids(["conv2"])
    for name, text in (("kernel_size", "1"), ("padding", "0")):
        window.inspector.editor(name).setText(text)
        window.inspector.editor(name).editingFinished.emit()
    definition = document.graph.blocks["Residual"]
    assert definition.graph.node("conv2").params["kernel_size"] == 1
    assert document.graph.blocks["Residual"].graph.node("conv1").params["out_channels"] == {"$param": "channels"}
    assert document.analysis.ok and document.analysis.total_params < params_before  # both uses follow
    assert window.scene.node_item("conv2").node.params["kernel_size"] == 1  # the view followed
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(document.graph) == before
    assert window.scene.node_item("conv2").node.params["kernel_size"] == 3
    # Escape leaves, back to the graph's own canvas
    window.view.setFocus()
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Escape)
    assert window.blocks.path == [] and "block1" in window.scene.node_items()
    assert not window.blocks.breadcrumb.isVisible()


def test_deleting_inside_names_the_broken_uses_and_the_breadcrumb_leaves(window):
    document = window.document
    window.blocks.open_use("block2")
    window.scene.select_ids(["relu"])
    window.scene.request_delete()
    assert "relu" not in document.graph.blocks["Residual"].graph
    messages = [d.message for d in document.analysis.diagnostics]
    assert any(m.startswith("block1 › ") for m in messages) and any(m.startswith("block2 › ") for m in messages)
    window.blocks.breadcrumb.buttons[0].click()
    assert window.blocks.path == [] and window.scene.graph is document.graph


def test_a_use_expands_in_place_read_only_and_collapses(window):
    scene = window.scene
    scene.set_expanded("block2", True)
    frame = scene.frame("block2")
    assert frame is not None and set(frame.cards()) == {"x", "conv1", "relu", "conv2", "add", "out"}
    assert frame.cards()["conv1"].shape_label == "6×8×8"  # this use's own width
    assert scene.node_at(frame.cards()["relu"].mapToScene(frame.cards()["relu"].boundingRect().center())) is None
    # double-click on the frame edits the definition
    point = frame.cards()["relu"].mapToScene(frame.cards()["relu"].boundingRect().center())
    QTest.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      at(window.view, point))
    assert window.blocks.path == ["Residual"]
    window.blocks.navigator.leave()
    window.scene.set_expanded("block2", True)
    window.scene.set_expanded("block2", False)
    assert window.scene.frame("block2") is None


def test_undoing_make_block_while_inside_leaves_the_definition(qtbot):
    window = MainWindow(load_template("resnet_style"), autosave=False)
    qtbot.addWidget(window)
    window.show()
    use = window.controller.make_block(["s1b1_conv1", "s1b1_bn1", "s1b1_relu1"])
    assert window.blocks.open_use(use)
    window.document.undo_stack.undo()
    qtbot.waitUntil(lambda: window.blocks.path == [])
    assert window.scene.graph is window.document.graph and "s1b1_conv1" in window.scene.node_items()
    assert analyze(window.document.graph).ok
    window.document.undo_stack.setClean()


def test_a_layer_chosen_inside_a_block_is_watched_by_its_path(window):
    """The training views (activations, patches) name layers inside blocks by path: clicking a
    layer of the definition entered through block2 asks for block2.conv1."""
    asked = []
    window.workspace.node_selected = asked.append
    double_click(window, window.scene.node_item("block2"))
    item = window.scene.node_item("conv1")
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(window.view, body_point(item)))
    assert asked[-1] == "block2.conv1"
    assert item.shape_label == "6×8×8"  # block2's width: shapes as the use entered through sees them
    assert "block2.conv1" in window.document.analysis.flat.nodes  # the compiled network's name for it
    window.blocks.navigator.leave()
    window.scene.select_ids(["flat"])
    assert asked[-1] == "flat"


def test_escape_on_the_graphs_own_canvas_keeps_the_scene_and_the_view(window, qtbot):
    """Escape with nothing to cancel and no block entered changes nothing: it used to rebuild
    the scene, which sent the view back to its start (a node just added at the cursor jumped)."""
    scene = window.scene
    window.view.horizontalScrollBar().setValue(window.view.horizontalScrollBar().value() + 137)
    scroll = (window.view.horizontalScrollBar().value(), window.view.verticalScrollBar().value())
    changes = []
    window.blocks.navigator.changed.connect(changes.append)
    window.view.setFocus()
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    assert window.scene is scene and not changes
    assert (window.view.horizontalScrollBar().value(), window.view.verticalScrollBar().value()) == scroll
