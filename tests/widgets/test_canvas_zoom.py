"""Big graphs you can inspect (issue 13): names at every zoom where a card is over ~40 px
wide, and a coloured overview below that."""

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from graph_engine import load_template
from widgets.canvas import GraphScene, GraphView


def _dark_pixels(view, item) -> int:
    image = view.viewport().grab().toImage()
    rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect().intersected(view.viewport().rect())
    return sum(1 for x in range(rect.left(), rect.right()) for y in range(rect.top(), rect.bottom())
               if image.pixelColor(x, y).lightness() < 90)


def test_names_show_while_a_card_is_over_40_px_wide(qtbot):
    view = GraphView()
    scene = GraphScene(load_template("digits_cnn"), parent=view)
    view.setScene(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    item = scene.node_item("conv2")
    for zoom, named in ((0.3, True), (0.25, True), (0.2, False)):  # 51, 42 and 34 px wide
        view.set_zoom(zoom)
        view.centerOn(item)
        QApplication.processEvents()
        assert (_dark_pixels(view, item) > 15) == named, zoom
    scene.detach()


def test_the_minimap_frames_the_view_and_moves_it(qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    view = GraphView()
    scene = GraphScene(load_template("resnet_style"), parent=view)
    view.setScene(scene)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.reset_zoom()
    view.centerOn(scene.node_item("image"))
    minimap = view.minimap
    minimap.redraw()
    assert minimap.isVisible() and minimap.geometry().right() < view.viewport().width()
    frame = minimap.visible_frame()
    assert 0 < frame.width() < minimap.width()
    far = scene.node_item("scores").sceneBoundingRect().center()
    target = minimap.visible_frame().center()  # click where "scores" is drawn on the minimap
    scale, offset = minimap._scale()
    spot = offset + (far - minimap._source.topLeft()) * scale
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPoint(round(spot.x()), round(spot.y())))
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(far) and minimap.visible_frame().center() != target
    scene.detach()


def test_the_stages_of_a_big_network_are_named_at_any_zoom(qtbot):
    from graph_engine import Graph

    graph = Graph("stages")
    previous = graph.create_node("Input", {"shape": [4]}, position=(0.0, 0.0), node_id="x").id
    for stage in (1, 2):
        for block in range(2):
            for name in ("fc", "act"):
                node = graph.create_node("ReLU", position=(240.0 * len(graph), 0.0),
                                         node_id=f"layer{stage}_{block}_{name}")
                graph.connect(previous, node.id)
                previous = node.id
    graph.connect(previous, graph.create_node("ReLU", node_id="add_1").id)  # a stem alone names no stage
    view = GraphView()
    scene = GraphScene(graph, parent=view)
    view.setScene(scene)
    qtbot.addWidget(view)
    view.show()
    QApplication.processEvents()
    assert scene.stage_labels() == ["layer1", "layer2"]
    scene.detach()
