"""The graph canvas (widgets/canvas) driven through real mouse, key, wheel and drop events
on the view's viewport (offscreen; see tests/conftest.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph_engine import Edge, Graph, analyze, load_template
from widgets.canvas import (
    GRID_SIZE, LAYER_MIME_TYPE, EdgeItem, GraphScene, GraphView, NodeItem,
)
from widgets.canvas.items import ERROR_COLOR, HIGHLIGHT_COLOR, WARNING_COLOR
from tests.qt_helpers import at, body_point, drag


# -- fixtures and helpers ---------------------------------------------------------------
@pytest.fixture
def make_canvas(qtbot):
    """``make(graph)`` -> (scene, view): a shown 900×500 view; scenes detach at teardown."""
    scenes = []

    def make(graph: Graph, size=(900, 500)) -> tuple[GraphScene, GraphView]:
        view = GraphView()
        scene = GraphScene(graph, parent=view)
        view.setScene(scene)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        scenes.append(scene)
        return scene, view

    yield make
    for scene in scenes:
        scene.detach()


def small_graph() -> Graph:
    """Input -> Conv2d, a free ReLU and an Add, laid out in a row."""
    graph = Graph("small")
    graph.create_node("Input", {"shape": [1, 8, 8]}, position=(0.0, 0.0), node_id="image")
    graph.create_node("Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": 2},
                      position=(240.0, 0.0), node_id="conv")
    graph.create_node("ReLU", position=(480.0, 0.0), node_id="relu")
    graph.create_node("Add", position=(240.0, 160.0), node_id="add")
    graph.connect("image", "conv")
    return graph


def wheel(view: GraphView, pos: QPoint, delta: int) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0),
                        QPoint(0, delta), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def visible_scene_rect(view: GraphView) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


# -- building from the model --------------------------------------------------------------
def test_template_items_appear(make_canvas):
    graph = load_template("digits_cnn")
    scene, _ = make_canvas(graph)
    nodes, edges = scene.node_items(), scene.edge_items()
    assert set(nodes) == set(graph.nodes)
    assert set(edges) == set(graph.edges)
    assert sum(isinstance(i, NodeItem) for i in scene.items()) == len(graph)
    assert sum(isinstance(i, EdgeItem) for i in scene.items()) == len(graph.edges)
    for node in graph:
        assert nodes[node.id].pos() == QPointF(*node.position)
    conv1 = nodes["conv1"]
    assert conv1.title == "conv1" and conv1.node.type == "Conv2d"
    assert conv1.key_params_line == "out_channels=32 kernel_size=3 padding=1"
    assert conv1.input_count == 1 and conv1.has_output
    assert nodes["image"].input_count == 0
    assert not nodes["scores"].has_output
    flags = conv1.flags()
    Flag = NodeItem.GraphicsItemFlag
    for flag in (Flag.ItemIsSelectable, Flag.ItemIsMovable, Flag.ItemSendsGeometryChanges):
        assert flags & flag
    # edges run from the source's output port to the target's input port
    edge = edges[Edge("conv1", "relu1")]
    assert edge.path.pointAtPercent(0.0) == conv1.output_port_scene_pos()
    assert edge.path.pointAtPercent(1.0) == nodes["relu1"].input_port_scene_pos(0)


def test_positions_come_from_the_model(make_canvas):
    graph = Graph()
    graph.create_node("Input", node_id="nowhere")
    graph.create_node("ReLU", position=(120.5, -40.0), node_id="somewhere")
    scene, _ = make_canvas(graph)
    assert scene.node_item("nowhere").pos() == QPointF(0.0, 0.0)
    assert scene.node_item("somewhere").pos() == QPointF(120.5, -40.0)


def test_model_events_add_update_and_remove_items(make_canvas):
    graph = small_graph()
    scene, _ = make_canvas(graph)

    graph.create_node("Linear", {"out_features": 7}, position=(700.0, 40.0), node_id="fc")
    item = scene.node_item("fc")
    assert item is not None and item.scene() is scene and item.pos() == QPointF(700.0, 40.0)
    assert item.key_params_line == "out_features=7"

    edge = graph.connect("relu", "fc")
    edge_item = scene.edge_item(edge)
    assert edge_item is not None and edge_item.scene() is scene

    graph.set_params("fc", {"out_features": 12})
    assert scene.node_item("fc") is item and item.key_params_line == "out_features=12"
    assert "out_features=12" in item.toolTip()

    graph.set_label("fc", "classifier")
    assert item.title == "classifier"

    graph.move_node("fc", (800.0, 80.0))
    assert item.pos() == QPointF(800.0, 80.0)
    assert edge_item.path.pointAtPercent(1.0) == item.input_port_scene_pos(0)
    graph.move_node("relu", (500.0, 20.0))
    assert edge_item.path.pointAtPercent(0.0) == scene.node_item("relu").output_port_scene_pos()

    graph.remove_edge(edge)
    assert scene.edge_item(edge) is None and edge_item.scene() is None

    graph.connect("relu", "fc")
    graph.remove_node("fc")
    assert scene.node_item("fc") is None and item.scene() is None
    assert not any(e.target == "fc" for e in scene.edge_items())
    assert sum(isinstance(i, EdgeItem) for i in scene.items()) == len(graph.edges)


def test_variadic_node_shows_connected_ports_and_one_free_port(make_canvas):
    graph = small_graph()
    scene, _ = make_canvas(graph)
    add = scene.node_item("add")
    assert add.input_count == 2 and add.free_port() == 0
    graph.connect("conv", "add", 0)
    graph.connect("image", "add", 1)
    assert add.input_count == 3 and add.free_port() == 2
    into_port_1 = scene.edge_item(Edge("image", "add", 1))
    assert into_port_1.path.pointAtPercent(1.0) == add.input_port_scene_pos(1)
    graph.remove_edge(Edge("image", "add", 1))
    assert add.input_count == 2
    # a fixed single-input node with its port taken has no free port
    assert scene.node_item("conv").free_port() is None


# -- analysis -----------------------------------------------------------------------------
def test_set_analysis_labels_nodes_and_edges(make_canvas):
    graph = load_template("lenet5")
    scene, _ = make_canvas(graph)
    assert all(item.label == "" for item in scene.edge_items().values())
    analysis = analyze(graph)
    scene.set_analysis(analysis)
    c1 = scene.node_item("c1")
    assert c1.shape_label == "6×28×28"
    assert c1.params_label == "156 params"
    assert "156 params" in c1.toolTip()
    out_of_c1 = next(e for e in graph.edges if e.source == "c1")
    assert scene.edge_item(out_of_c1).label == "6×28×28"
    assert "6×28×28" in scene.edge_item(out_of_c1).toolTip()
    for edge, item in scene.edge_items().items():
        shape = analysis.info(edge.source).out_shape
        assert item.label == "×".join(str(d) for d in shape)
    assert c1.severity is None
    scene.set_analysis(None)
    assert c1.shape_label == "" and scene.edge_item(out_of_c1).label == ""


def test_error_node_turns_red_with_the_message_in_its_tooltip(make_canvas):
    graph = Graph()
    graph.create_node("Input", {"shape": [1, 8, 8]}, position=(0.0, 0.0), node_id="image")
    graph.create_node("Linear", {"out_features": 10}, position=(220.0, 0.0), node_id="fc")
    graph.create_node("Output", position=(440.0, 0.0), node_id="out")
    graph.connect("image", "fc")
    graph.connect("fc", "out")
    scene, _ = make_canvas(graph)
    analysis = analyze(graph)
    message = next(d.message for d in analysis.errors if d.node_ids == ("fc",))
    scene.set_analysis(analysis)
    fc = scene.node_item("fc")
    assert fc.severity == "error"
    assert fc.border_color() == ERROR_COLOR
    assert message in fc.toolTip()
    assert scene.node_item("image").severity is None
    # fixing it clears the mark
    graph.create_node("Flatten", position=(110.0, 120.0), node_id="flat")
    graph.remove_edge(Edge("image", "fc"))
    graph.connect("image", "flat")
    graph.connect("flat", "fc")
    scene.set_analysis(analyze(graph))
    assert fc.severity is None and message not in fc.toolTip()


def test_warning_node_turns_amber(make_canvas):
    graph = Graph()
    graph.create_node("Input", {"shape": [10, 4]}, position=(0.0, 0.0), node_id="seq")
    graph.create_node("LSTM", {"dropout": 0.2}, position=(220.0, 0.0), node_id="rnn")
    graph.create_node("Output", position=(440.0, 0.0), node_id="out")
    graph.connect("seq", "rnn")
    graph.connect("rnn", "out")
    scene, _ = make_canvas(graph)
    scene.set_analysis(analyze(graph))
    rnn = scene.node_item("rnn")
    assert rnn.severity == "warning" and rnn.border_color() == WARNING_COLOR
    assert "dropout acts only between stacked layers" in rnn.toolTip()


def test_highlight_nodes_until_cleared(make_canvas):
    graph = small_graph()
    scene, _ = make_canvas(graph)
    scene.highlight_nodes(["conv", "relu", "missing"])
    assert scene.highlighted_ids() == {"conv", "relu"}
    assert scene.node_item("conv").border_color() == HIGHLIGHT_COLOR
    scene.highlight_nodes(["add"])
    assert scene.highlighted_ids() == {"add"} and not scene.node_item("conv").highlighted
    scene.clear_highlight()
    assert not scene.highlighted_ids() and not scene.node_item("add").highlighted


def test_detach_stops_following_the_graph(make_canvas):
    graph = small_graph()
    scene, _ = make_canvas(graph)
    scene.detach()
    graph.create_node("ReLU", node_id="late")
    assert scene.node_item("late") is None
    assert all(not s._callbacks for s in (graph.node_added, graph.node_removed, graph.node_changed,
                                          graph.edge_added, graph.edge_removed))
    scene.detach()   # idempotent


# -- gestures -> intents ------------------------------------------------------------------
def test_drag_from_output_port_to_input_port_emits_connect_requested(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(400.0, 60.0))
    conv, relu = scene.node_item("conv"), scene.node_item("relu")
    start = at(view, conv.output_port_scene_pos())
    end = at(view, relu.input_port_scene_pos(0))
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, (start + end) / 2)
    assert scene.is_connecting()
    curves = [i for i in scene.items() if i.zValue() == 10]
    assert len(curves) == 1                                  # the temporary curve
    QTest.mouseMove(viewport, end)
    with qtbot.waitSignal(scene.connect_requested, timeout=1000) as blocker:
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           end)
    assert blocker.args == ["conv", "relu", 0, 0]
    assert not scene.is_connecting()
    assert not [i for i in scene.items() if i.zValue() == 10]
    assert conv.pos() == QPointF(240.0, 0.0)                 # the press did not move the node
    assert graph.edges == [Edge("image", "conv")]            # the scene never edits the model


def test_drop_on_a_node_body_picks_its_free_port(make_canvas, qtbot):
    graph = small_graph()
    graph.connect("conv", "add", 0)
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(300.0, 120.0))
    source, add = scene.node_item("image"), scene.node_item("add")
    with qtbot.waitSignal(scene.connect_requested, timeout=1000) as blocker:
        drag(view, at(view, source.output_port_scene_pos()), at(view, body_point(add)))
    assert blocker.args == ["image", "add", 1, 0]


def test_connection_drops_that_mean_nothing_emit_nothing(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(300.0, 120.0))
    image = scene.node_item("image")
    start = at(view, image.output_port_scene_pos())
    with qtbot.assertNotEmitted(scene.connect_requested):
        drag(view, start, at(view, body_point(scene.node_item("conv"))))    # port 0 is taken
        drag(view, start, at(view, QPointF(100.0, 400.0)))                  # empty canvas
        drag(view, start, at(view, body_point(image)))                      # itself
        drag(view, start, at(view, scene.node_item("conv").input_port_scene_pos(0)))  # exists
    assert not scene.is_connecting()


def test_the_temporary_curve_follows_the_cursor_and_escape_cancels(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(300.0, 120.0))
    conv = scene.node_item("conv")
    viewport = view.viewport()
    start = at(view, conv.output_port_scene_pos())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for point in (QPointF(500.0, 300.0), QPointF(650.0, 350.0)):    # empty canvas
        QTest.mouseMove(viewport, at(view, point))
        curve, = [i for i in scene.items() if i.zValue() == 10]
        end = curve.path().pointAtPercent(1.0)
        assert end.x() == pytest.approx(point.x(), abs=1.5)
        assert end.y() == pytest.approx(point.y(), abs=1.5)
    # over a node, the curve snaps to the port it would connect to, which is marked
    relu = scene.node_item("relu")
    QTest.mouseMove(viewport, at(view, body_point(relu)))
    curve, = [i for i in scene.items() if i.zValue() == 10]
    assert curve.path().pointAtPercent(1.0) == relu.input_port_scene_pos(0)
    assert relu.drop_port == 0
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not scene.is_connecting() and relu.drop_port is None
    with qtbot.assertNotEmitted(scene.connect_requested):
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           at(view, body_point(relu)))
    assert not [i for i in scene.items() if i.zValue() == 10]


def test_moving_two_selected_nodes_emits_one_nodes_moved(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(400.0, 60.0))
    conv, relu = scene.node_item("conv"), scene.node_item("relu")
    conv.setSelected(True)
    relu.setSelected(True)
    received = []
    scene.nodes_moved.connect(received.append)
    start = at(view, body_point(conv))
    drag(view, start, start + QPoint(40, 30))
    assert len(received) == 1
    moved = received[0]
    assert set(moved) == {"conv", "relu"}
    dx, dy = 40 / view.zoom_factor(), 30 / view.zoom_factor()
    (old, new) = moved["conv"]
    assert old == (240.0, 0.0)
    assert new == pytest.approx((240.0 + dx, 0.0 + dy), abs=1.0)
    assert moved["relu"][0] == (480.0, 0.0)
    assert moved["relu"][1] == pytest.approx((480.0 + dx, dy), abs=1.0)
    # nothing applied the move: the items show the model's positions again
    assert conv.pos() == QPointF(240.0, 0.0) and relu.pos() == QPointF(480.0, 0.0)


def test_a_move_applied_by_the_app_sticks(make_canvas):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(300.0, 60.0))

    def apply(moves):   # what the app's command does
        for node_id, (_, new) in moves.items():
            graph.move_node(node_id, new)

    scene.nodes_moved.connect(apply)
    relu = scene.node_item("relu")
    start = at(view, body_point(relu))
    drag(view, start, start + QPoint(-50, 60))
    x, y = graph.node("relu").position
    assert (x, y) == pytest.approx((430.0, 60.0), abs=1.0)
    assert relu.pos() == QPointF(x, y)


def test_snap_to_grid_while_dragging(make_canvas):
    graph = small_graph()
    scene, view = make_canvas(graph)
    scene.snap_to_grid = True
    received = []
    scene.nodes_moved.connect(received.append)
    conv = scene.node_item("conv")
    start = at(view, body_point(conv))
    drag(view, start, start + QPoint(33, 47))
    (_, (x, y)), = received[0].values()
    assert x % GRID_SIZE == 0 and y % GRID_SIZE == 0 and (x, y) != (240.0, 0.0)


def test_click_without_moving_emits_no_move(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    point = at(view, body_point(scene.node_item("conv")))
    with qtbot.assertNotEmitted(scene.nodes_moved):
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, point)
    assert scene.selected_node_ids() == ["conv"]


def test_delete_key_emits_delete_requested_with_the_selection(make_canvas, qtbot):
    graph = small_graph()
    graph.connect("conv", "relu")
    scene, view = make_canvas(graph)
    scene.node_item("add").setSelected(True)
    scene.edge_item(Edge("conv", "relu")).setSelected(True)
    view.setFocus()
    with qtbot.waitSignal(scene.delete_requested, timeout=1000) as blocker:
        QTest.keyClick(view, Qt.Key.Key_Delete)
    assert blocker.args == [["add"], [Edge("conv", "relu")]]
    # Backspace too; edges of a deleted node are left to the node's removal
    scene.clearSelection()
    scene.node_item("relu").setSelected(True)
    scene.edge_item(Edge("conv", "relu")).setSelected(True)
    with qtbot.waitSignal(scene.delete_requested, timeout=1000) as blocker:
        QTest.keyClick(view, Qt.Key.Key_Backspace)
    assert blocker.args == [["relu"], []]
    scene.clearSelection()
    with qtbot.assertNotEmitted(scene.delete_requested):
        QTest.keyClick(view, Qt.Key.Key_Delete)
    assert set(graph.nodes) == {"image", "conv", "relu", "add"}


def test_clicking_an_edge_selects_it(make_canvas):
    graph = small_graph()
    graph.connect("conv", "relu")
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(400.0, 60.0))
    edge_item = scene.edge_item(Edge("conv", "relu"))
    point = edge_item.path.pointAtPercent(0.5)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at(view, point))
    assert scene.selected_edges() == [Edge("conv", "relu")]


def test_layer_drop_emits_layer_dropped(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    mime = QMimeData()
    mime.setData(LAYER_MIME_TYPE, "Conv2d".encode("utf-8"))
    point = QPoint(600, 400)
    expected = view.mapToScene(point)
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(scene.layer_dropped, timeout=1000) as blocker:
        QApplication.sendEvent(view.viewport(), drop)
    type_name, scene_pos = blocker.args
    assert type_name == "Conv2d"
    assert scene_pos.x() == pytest.approx(expected.x(), abs=1.0)
    assert scene_pos.y() == pytest.approx(expected.y(), abs=1.0)


def test_other_drags_are_refused(make_canvas, qtbot):
    scene, view = make_canvas(small_graph())
    mime = QMimeData()
    mime.setText("Conv2d")
    enter = QDragEnterEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.assertNotEmitted(scene.layer_dropped):
        QApplication.sendEvent(view.viewport(), enter)
    assert not enter.isAccepted()


def test_rubber_band_selects_and_reports_node_ids(make_canvas, qtbot):
    graph = small_graph()
    scene, view = make_canvas(graph)
    view.centerOn(QPointF(400.0, 100.0))
    received = []
    scene.selection_changed_ids.connect(received.append)
    # from empty space above-left of conv to below-right of relu: conv and relu, not image/add
    drag(view, at(view, QPointF(225.0, -30.0)), at(view, QPointF(700.0, 80.0)))
    assert scene.selected_node_ids() == ["conv", "relu"]
    assert received[-1] == ["conv", "relu"]
    scene.clearSelection()
    assert received[-1] == []


def test_select_ids_and_removal_update_the_selection(make_canvas):
    graph = small_graph()
    scene, _ = make_canvas(graph)
    received = []
    scene.selection_changed_ids.connect(received.append)
    scene.select_ids(["relu", "conv", "missing"])
    assert received == [["conv", "relu"]]
    graph.remove_node("conv")
    assert received[-1] == ["relu"] and scene.selected_node_ids() == ["relu"]


# -- view: zoom, pan, fit -----------------------------------------------------------------
def test_wheel_zoom_keeps_the_point_under_the_cursor(make_canvas):
    scene, view = make_canvas(load_template("digits_cnn"))
    assert view.zoom_factor() == 1.0
    cursor = QPoint(620, 180)
    before = view.mapToScene(cursor)
    wheel(view, cursor, 120)
    assert view.zoom_factor() == pytest.approx(1.0015 ** 120)
    after = view.mapToScene(cursor)
    tolerance = 1.5 / view.zoom_factor()
    assert after.x() == pytest.approx(before.x(), abs=tolerance)
    assert after.y() == pytest.approx(before.y(), abs=tolerance)
    for _ in range(3):
        wheel(view, cursor, -120)
    assert view.zoom_factor() < 1.0
    after = view.mapToScene(cursor)
    tolerance = 1.5 / view.zoom_factor()
    assert after.x() == pytest.approx(before.x(), abs=tolerance)
    assert after.y() == pytest.approx(before.y(), abs=tolerance)


def test_zoom_is_limited(make_canvas):
    _, view = make_canvas(small_graph())
    for _ in range(40):
        wheel(view, QPoint(300, 200), 120)
    assert view.zoom_factor() == pytest.approx(GraphView.MAX_ZOOM)
    for _ in range(80):
        wheel(view, QPoint(300, 200), -120)
    assert view.zoom_factor() == pytest.approx(GraphView.MIN_ZOOM)


def test_fit_shows_all_items_and_keys_fit_and_reset(make_canvas):
    scene, view = make_canvas(load_template("digits_cnn"))
    view.fit()
    visible = visible_scene_rect(view)
    for item in scene.items():
        assert visible.contains(item.sceneBoundingRect()), item
    assert view.zoom_factor() < 1.0

    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_factor() == 1.0
    QTest.keyClick(view, Qt.Key.Key_F)
    assert visible_scene_rect(view).contains(scene.itemsBoundingRect())
    view.reset_zoom()
    assert view.zoom_factor() == 1.0


def test_fit_does_not_blow_up_a_small_graph(make_canvas):
    graph = Graph()
    graph.create_node("Input", position=(500.0, 300.0))
    scene, view = make_canvas(graph)
    view.fit()
    assert view.zoom_factor() == GraphView.FIT_MAX_ZOOM
    assert visible_scene_rect(view).contains(scene.itemsBoundingRect())


def test_middle_drag_and_space_drag_pan(make_canvas):
    scene, view = make_canvas(load_template("digits_cnn"))
    centre = view.viewport().rect().center()
    before = view.mapToScene(centre)
    drag(view, QPoint(400, 300), QPoint(300, 250), button=Qt.MouseButton.MiddleButton)
    moved = view.mapToScene(centre)
    assert moved.x() == pytest.approx(before.x() + 100, abs=1.0)
    assert moved.y() == pytest.approx(before.y() + 50, abs=1.0)

    # Space + left drag pans even when it starts on a node, and moves nothing
    view.setFocus()
    conv1 = scene.node_item("conv1")
    start = at(view, body_point(conv1))
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view, start, start + QPoint(60, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    after = view.mapToScene(centre)
    assert after.x() == pytest.approx(moved.x() - 60, abs=1.0)
    assert conv1.pos() == QPointF(*scene.graph.node("conv1").position) and not conv1.isSelected()
    assert not view.is_panning()


# -- scale and rendering ------------------------------------------------------------------
def residual_graph(blocks: int) -> Graph:
    """Input, stem, ``blocks`` residual blocks of 7 nodes, head: positions on a grid."""
    graph = Graph("residual")
    columns = 40
    count = 0

    def add(type_name, source=None, params=None, node_id=None):
        nonlocal count
        position = ((count % columns) * 220.0, (count // columns) * 160.0)
        count += 1
        node = graph.create_node(type_name, params or {}, position=position, node_id=node_id)
        if source is not None:
            graph.connect(source, node.id)
        return node.id

    conv = {"out_channels": 8, "kernel_size": 3, "padding": 1}
    x = add("Input", params={"shape": [3, 16, 16]}, node_id="image")
    x = add("Conv2d", x, conv)
    for _ in range(blocks):
        skip = x
        y = add("Conv2d", x, conv)
        y = add("BatchNorm2d", y)
        y = add("ReLU", y)
        y = add("Conv2d", y, conv)
        y = add("BatchNorm2d", y)
        y = add("Add", y)
        graph.connect(skip, y, 1)
        x = add("ReLU", y)
    x = add("AdaptiveAvgPool2d", x)
    x = add("Flatten", x)
    x = add("Linear", x)
    add("Output", x)
    return graph


def test_a_thousand_node_scene_builds(make_canvas):
    graph = residual_graph(142)
    assert len(graph) >= 1000
    scene, view = make_canvas(graph)
    assert len(scene.node_items()) == len(graph)
    assert len(scene.edge_items()) == len(graph.edges)
    scene.set_analysis(analyze(graph))
    view.fit()
    assert not view.grab().isNull()


def test_render_template_to_png(make_canvas, tmp_path):
    graph = load_template("resnet_style")
    scene, view = make_canvas(graph, size=(1200, 520))
    scene.set_analysis(analyze(graph))
    scene.node_item("s1b1_add").setSelected(True)
    view.centerOn(scene.node_item("s1b1_conv2").sceneBoundingRect().center())
    pixmap = view.grab()
    path = tmp_path / "canvas.png"
    assert pixmap.save(str(path))
    assert path.stat().st_size > 1000


# -- named ports (issue 11) -------------------------------------------------------------
def _encoder_decoder_graph() -> Graph:
    graph = Graph("encdec")
    graph.create_node("Input", {"shape": [5, 3]}, (0.0, 0.0), "source")
    graph.create_node("GRU", {"hidden_size": 4, "return_sequences": False}, (240.0, 0.0), "encoder")
    graph.create_node("Input", {"shape": [6, 3]}, (240.0, 200.0), "target")
    graph.create_node("GRU", {"hidden_size": 4}, (520.0, 120.0), "decoder")
    graph.connect("source", "encoder")
    graph.connect("target", "decoder")
    return graph


def test_a_state_port_is_dragged_from_h_n_to_h0_and_named_on_hover(make_canvas, qtbot):
    graph = _encoder_decoder_graph()
    scene, view = make_canvas(graph, size=(1000, 500))
    scene.set_analysis(analyze(graph))
    view.centerOn(QPointF(400.0, 100.0))
    encoder, decoder = scene.node_item("encoder"), scene.node_item("decoder")
    assert encoder.output_count == 2 and decoder.input_count == 2
    h_n, h0 = encoder.output_port_scene_pos(1), decoder.input_port_scene_pos(1)
    assert h_n != encoder.output_port_scene_pos(0)
    assert encoder.port_tooltip(encoder.port_at(encoder.mapFromScene(h_n))) == "h_n: 1×4"
    assert decoder.port_tooltip(decoder.port_at(decoder.mapFromScene(h0))) == "h0: not connected"
    with qtbot.waitSignal(scene.connect_requested, timeout=1000) as blocker:
        drag(view, at(view, h_n), at(view, h0))
    assert blocker.args == ["encoder", "decoder", 1, 1]
    graph.connect("encoder", "decoder", port=1, source_port=1)
    edge_item = scene.edge_item(Edge("encoder", "decoder", 1, 1))
    assert edge_item.path.pointAtPercent(0) == h_n  # the edge leaves from h_n, not from out


def test_a_chunk_shows_as_many_output_ports_as_its_chunks(make_canvas):
    graph = Graph("chunks")
    graph.create_node("Input", {"shape": [6, 4]}, (0.0, 0.0), "x")
    graph.create_node("Chunk", {"chunks": 3, "dim": 0}, (240.0, 0.0), "split")
    graph.connect("x", "split")
    scene, _view = make_canvas(graph)
    item = scene.node_item("split")
    assert item.output_count == 3
    graph.set_params("split", {"chunks": 2})
    assert item.output_count == 2
