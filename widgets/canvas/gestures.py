"""The canvas's mouse gestures: connecting two nodes, and moving the selection.

A connection is dragged from a node's output port to another node's input port:
while the drag lasts a dashed curve follows the pointer and the input port it would
land on is marked; on release the gesture says which edge was asked for. A move is
measured from the positions at the press. Gestures only draw and measure: the scene
turns their answers into intents.
"""

from __future__ import annotations

from typing import Callable, Mapping

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from widgets.canvas.geometry import bezier_path
from widgets.canvas.node_item import NodeItem
from widgets.theme import SELECTION_COLOR

#: a drag shorter than this (scene units) is a click, not a move
MOVE_EPSILON = 1e-6
Position = tuple[float, float]


def moved_nodes(before: Mapping[str, QPointF], items: Mapping[str, NodeItem]
                ) -> dict[str, tuple[Position, Position]]:
    """``{node_id: (old, new)}`` for the items that moved away from ``before`` (their
    positions when the button went down); items gone since are left out."""
    moved = {}
    for nid, old in before.items():
        item = items.get(nid)
        if item is None:
            continue
        new = item.pos()
        if abs(new.x() - old.x()) > MOVE_EPSILON or abs(new.y() - old.y()) > MOVE_EPSILON:
            moved[nid] = ((old.x(), old.y()), (new.x(), new.y()))
    return moved


def target_port(node: NodeItem, scene_pos: QPointF) -> int | None:
    """The port a connection released at ``scene_pos`` on ``node`` goes to: the input
    port under the pointer, else the node's first free one."""
    port = node.port_at(node.mapFromScene(scene_pos))
    if port is not None and port >= 0:
        return port
    return node.free_port()


def source_port(node: NodeItem, scene_pos: QPointF) -> int | None:
    """The output a connection dragged backwards from an input and released at ``scene_pos``
    on ``node`` comes from: the output port under the pointer, else the first."""
    hit = NodeItem.output_of(node.port_at(node.mapFromScene(scene_pos)))
    if hit is not None:
        return hit
    return 0 if node.has_output else None


class ConnectionDrag:
    """One connection being dragged in ``scene``.

    Forward (the default): from output ``source_port`` of ``source`` towards an input.
    Backwards (``reverse``): from input ``target_port`` of ``source`` towards an output.
    ``detached``: the edge whose end was grabbed off an input (re-routed on release, or
    removed when released on nothing); its item is hidden while the drag lasts.
    ``node_at(scene_pos, exclude)`` finds the node under the pointer.
    """

    def __init__(self, scene: QGraphicsScene, source: NodeItem,
                 node_at: Callable[[QPointF, NodeItem | None], NodeItem | None], source_port: int = 0,
                 reverse: bool = False, detached=None):
        self.source = source
        #: which of ``source``'s outputs (or, reversed, inputs) the connection leaves from
        self.source_port = source_port
        self.reverse = reverse
        self.detached = detached
        self._scene = scene
        self._node_at = node_at
        #: the node showing a drop hint
        self.hint: NodeItem | None = None
        curve = QGraphicsPathItem()
        pen = QPen(SELECTION_COLOR, 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        curve.setPen(pen)
        curve.setZValue(10)
        curve.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._curve: QGraphicsPathItem | None = curve  # keep the Python reference (PySide deletes otherwise)
        scene.addItem(curve)

    def _aim(self, scene_pos: QPointF) -> tuple[NodeItem | None, int | None]:
        target = self._node_at(scene_pos, self.source)
        if target is None:
            return None, None
        return target, (source_port(target, scene_pos) if self.reverse else target_port(target, scene_pos))

    def move(self, scene_pos: QPointF) -> None:
        """The pointer moved: redraw the curve and the drop hint."""
        if self._curve is None:
            return
        target, port = self._aim(scene_pos)
        end = scene_pos
        if self.reverse:
            if target is not None and port is not None:
                end = target.output_port_scene_pos(port)
            path = bezier_path(end, self.source.input_port_scene_pos(self.source_port))
        else:
            if target is not None and port is not None:
                end = target.input_port_scene_pos(port)
            path = bezier_path(self.source.output_port_scene_pos(self.source_port), end)
        self._curve.setPath(path)
        hint = target if port is not None and not self.reverse else None
        if self.hint is not None and self.hint is not hint:
            self.hint.set_drop_port(None)
        if hint is not None:
            hint.set_drop_port(port)
        self.hint = hint

    def finish(self, scene_pos: QPointF) -> tuple[NodeItem, int] | None:
        """The button went up at ``scene_pos``: remove the marks and return the (node, port)
        the connection asks for (an input, or reversed an output), or None."""
        target, port = self._aim(scene_pos)
        self.cancel()
        return (target, port) if target is not None and port is not None else None

    def cancel(self) -> None:
        """Remove the curve and the drop hint (Escape, or the source node went away)."""
        if self.hint is not None:
            self.hint.set_drop_port(None)
            self.hint = None
        if self._curve is not None:
            self._scene.removeItem(self._curve)
            self._curve = None
