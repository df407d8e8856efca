"""Issue 13, direct wiring: the edge a drop would split is marked while a node hovers over it.

Through the main window's real canvas: a layer dragged from the palette (drag enter, move,
leave and drop events on the view's viewport) and a free node moved with the mouse mark the
edge under them (blue: the insert would be accepted; red dashed: refused, and the drop then
only places or moves the node), and the mark goes when the pointer leaves the edge or the
canvas. A palette layer dropped on an accepted edge is inserted there in one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from graph_engine import Edge, load_template
from tests.qt_helpers import at, body_point
from widgets.drag_mime import layer_mime_data

pytestmark = pytest.mark.qt_log_ignore("does not support grabbing the keyboard", r"does not support raise\(\)")

EDGE = Edge("relu1", "hidden2")


@pytest.fixture
def window(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.view.fit()
    yield window
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()


def marks(window) -> dict[Edge, str]:
    return {edge: item.drop_mark for edge, item in window.scene.edge_items().items() if item.drop_mark}


def pairs(window) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in window.document.graph.edges}


def middle(window, edge: Edge = EDGE) -> QPoint:
    return at(window.view, window.scene.edge_item(edge).path.pointAtPercent(0.5))


def away(window) -> QPoint:
    """A point of the canvas far from every edge."""
    return at(window.view, window.scene.itemsBoundingRect().bottomRight() + QPointF(300, 300))


class PaletteDrag:
    """A palette drag over the canvas as the window system delivers it."""

    def __init__(self, window, type_name: str):
        self.viewport = window.view.viewport()
        self.mime: QMimeData = layer_mime_data(type_name)

    def _send(self, event) -> None:
        QApplication.sendEvent(self.viewport, event)

    def enter(self, pos: QPoint) -> None:
        self._send(QDragEnterEvent(pos, Qt.DropAction.CopyAction, self.mime, Qt.MouseButton.LeftButton,
                                   Qt.KeyboardModifier.NoModifier))

    def move(self, pos: QPoint) -> None:
        self._send(QDragMoveEvent(pos, Qt.DropAction.CopyAction, self.mime, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier))

    def leave(self) -> None:
        self._send(QDragLeaveEvent())

    def drop(self, pos: QPoint) -> None:
        self._send(QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, self.mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier))


def test_a_palette_layer_over_an_edge_marks_it_and_is_inserted_there(window):
    drag = PaletteDrag(window, "Dropout")
    drag.enter(away(window))
    assert marks(window) == {}
    drag.move(middle(window))
    assert marks(window) == {EDGE: "accepted"}
    drag.move(away(window))
    assert marks(window) == {}
    drag.move(middle(window))
    drag.leave()  # out of the canvas: the mark goes
    assert marks(window) == {}
    drag.enter(middle(window))
    assert marks(window) == {EDGE: "accepted"}
    window.view.viewport().grab().save("/tmp/rosenblatt-edge-drop-accepted.png")
    drag.drop(middle(window))
    assert marks(window) == {}
    assert {("relu1", "dropout_1"), ("dropout_1", "hidden2")} <= pairs(window)
    assert ("relu1", "hidden2") not in pairs(window)
    assert window.document.undo_stack.count() == 1
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ("relu1", "hidden2") in pairs(window) and "dropout_1" not in window.document.graph


def test_a_layer_the_edge_would_refuse_is_marked_refused_and_only_placed(window):
    drag = PaletteDrag(window, "Input")
    drag.enter(middle(window))
    assert marks(window) == {EDGE: "refused"}
    assert window.scene.edge_drop.refusal == "Input takes no input"
    drag.drop(middle(window))
    assert "input_1" in window.document.graph and ("relu1", "hidden2") in pairs(window)
    assert not window.document.graph.in_edges("input_1") and marks(window) == {}
    assert window.statusBar().currentMessage() == "Not inserted on the edge: Input takes no input"


def press_move(window, node_id: str, to: QPoint, steps: int = 6) -> QPoint:
    """Press on a node's body and move it (button held) so that its centre comes to ``to``."""
    view, item = window.view, window.scene.node_item(node_id)
    start = at(view, body_point(item))
    offset = start - at(view, item.mapToScene(item.boundingRect().center()))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    return move(window, start, to + offset, steps)


def move(window, start: QPoint, end: QPoint, steps: int = 6) -> QPoint:
    for i in range(1, steps + 1):
        QTest.mouseMove(window.view.viewport(), start + (end - start) * (i / steps))
    return end


def free_node(window, type_name: str) -> str:
    """A new, unconnected node near the canvas's top-left corner (in view)."""
    corner = window.view.mapToScene(QPoint(20, 20))
    return window.controller.add_layer(type_name, (corner.x(), corner.y()))


def test_a_free_node_moved_over_an_edge_marks_it_until_it_leaves(window):
    free_node(window, "Dropout")
    pointer = press_move(window, "dropout_1", middle(window))
    assert marks(window) == {EDGE: "accepted"}
    shift = away(window) - middle(window)
    pointer = move(window, pointer, pointer + shift)
    assert marks(window) == {}
    pointer = move(window, pointer, pointer - shift)
    assert marks(window) == {EDGE: "accepted"}
    QTest.mouseRelease(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pointer)
    assert marks(window) == {}
    assert {("relu1", "dropout_1"), ("dropout_1", "hidden2")} <= pairs(window)


def test_a_free_node_the_edge_would_refuse_is_marked_refused_and_only_moved(window):
    start = window.document.graph.node(free_node(window, "Output")).position
    pointer = press_move(window, "output_1", middle(window))
    assert marks(window) == {EDGE: "refused"}
    window.view.viewport().grab().save("/tmp/rosenblatt-edge-drop-refused.png")
    QTest.mouseRelease(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pointer)
    assert marks(window) == {} and ("relu1", "hidden2") in pairs(window)
    assert window.document.graph.node("output_1").position != start  # moved there, not inserted
    assert window.statusBar().currentMessage() == "Not inserted on the edge: Output gives no output"


def test_a_connected_node_moved_over_an_edge_marks_nothing(window):
    pointer = press_move(window, "flatten", middle(window, Edge("hidden2", "relu2")))
    assert marks(window) == {}
    QTest.mouseRelease(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pointer)
