"""Helpers shared by the GUI tests: showing a widget, real mouse events on a view's viewport."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from widgets.canvas import NODE_WIDTH, GraphView, NodeItem


def at(view: GraphView, scene_point: QPointF) -> QPoint:
    return view.mapFromScene(scene_point)


def drag(view: GraphView, start: QPoint, end: QPoint, steps: int = 4,
         button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at ``start``, move in steps, release at ``end`` (viewport coordinates)."""
    viewport = view.viewport()
    QTest.mousePress(viewport, button, modifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * (i / steps))
    QTest.mouseRelease(viewport, button, modifier, end)


def body_point(item: NodeItem) -> QPointF:
    """A point on the node's body away from its ports."""
    return item.mapToScene(QPointF(NODE_WIDTH / 2, item.height / 2))




def show_widget(qtbot, widget, width: int, height: int):
    """Hand ``widget`` to qtbot, size it, show it and wait until it is on screen."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
