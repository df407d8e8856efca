"""Dropping a node onto an edge splits the edge: the node goes in between its ends.

Two gestures do it: a layer dragged from the palette, and a free (unconnected) node moved on
the canvas. While either hovers over an edge, that edge is drawn as a drop target: blue when
the insert would be accepted, red and dashed when it would be refused (a layer that takes no
input, or gives no output: the drop then only places or moves the node). Leaving the edge, or
the canvas, clears the mark. The scene owns one :class:`EdgeDrop`; it draws and answers
questions, and the scene turns the drop into its intent signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsSceneDragDropEvent

from graph_engine import get_spec
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.geometry import snap
from widgets.drag_mime import carries_layer, parse_library_ref, type_from_mime_data

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData

    from graph_engine import Edge, LayerSpec
    from widgets.canvas.node_item import NodeItem
    from widgets.canvas.scene import GraphScene

#: how near (scene px) the pointer must come to an edge's curve
REACH = 6.0


def insert_refusal(type_name: str, spec: "LayerSpec | None") -> str | None:
    """Why a node of this type cannot be inserted on an edge; None when it can."""
    if spec is None:
        return f"{type_name} is not a layer type"
    if spec.inputs[1] == 0:
        return f"{type_name} takes no input"
    if not spec.has_output:
        return f"{type_name} gives no output"
    return None


class EdgeDrop:
    """The edge a drop would split, if any, and whether the insert would be accepted."""

    def __init__(self, scene: "GraphScene"):
        self._scene = scene
        self._item: EdgeItem | None = None
        #: why the marked edge would refuse the node (None: accepted, or nothing marked)
        self.refusal: str | None = None

    @property
    def edge(self) -> "Edge | None":
        """The marked edge (accepted or refused)."""
        return self._item.edge if self._item is not None else None

    @property
    def accepted_edge(self) -> "Edge | None":
        """The edge a drop now would insert the node on; None when none, or refused."""
        return self.edge if self.refusal is None else None

    def edge_at(self, point: QPointF, exclude: str | None = None) -> EdgeItem | None:
        """The topmost visible edge whose curve passes within :data:`REACH` of ``point`` (Qt's
        index finds the candidates: a 10,000-edge scene is not walked)."""
        area = QRectF(point.x() - REACH, point.y() - REACH, 2 * REACH, 2 * REACH)
        for item in self._scene.items(area):
            if isinstance(item, EdgeItem) and item.isVisible() and exclude not in (item.edge.source, item.edge.target) \
                    and item.shape().contains(point):
                return item
        return None

    def _spec(self, type_name: str) -> "LayerSpec | None":
        definition = self._scene.graph.blocks.get(type_name)
        if definition is not None:
            from graph_engine.block_face import use_spec

            return use_spec(definition)
        return get_spec(type_name)

    # -- the two gestures -----------------------------------------------------------------
    def track_layer(self, data: "QMimeData | None", point: QPointF) -> None:
        """A palette drag at ``point``: mark the edge under it (library blocks are not offered)."""
        payload = type_from_mime_data(data)
        if payload is None or parse_library_ref(payload) is not None:
            self.clear()
            return
        self._mark(self.edge_at(point), payload)

    def track_node(self, node: "NodeItem") -> None:
        """A node being moved: mark the edge under its centre while it is free (no edges)."""
        if node.edges:
            self.clear()
            return
        centre = node.mapToScene(node.boundingRect().center())
        self._mark(self.edge_at(centre, exclude=node.node_id), node.node.type)

    def _mark(self, item: EdgeItem | None, type_name: str) -> None:
        if item is None:
            self.clear()
            return
        refusal = insert_refusal(type_name, self._spec(type_name))
        if item is self._item and refusal == self.refusal:
            return
        self.clear()
        self._item, self.refusal = item, refusal
        item.set_drop_mark("refused" if refusal else "accepted")

    def clear(self) -> None:
        if self._item is not None:
            self._item.set_drop_mark(None)
        self._item, self.refusal = None, None

    def edge_removed(self, item: EdgeItem) -> None:
        if item is self._item:
            self._item, self.refusal = None, None


class PaletteDrops:
    """The scene's side of a palette drag (a mixin of GraphScene, which holds ``edge_drop``,
    ``_edges``, ``snap_to_grid`` and the ``layer_dropped*`` signals): accept drags that carry a
    layer, mark the edge under the pointer, and turn the drop into an intent."""

    def dragEnterEvent(self, event: QGraphicsSceneDragDropEvent) -> None:  # noqa: N802 (Qt override)
        self.dragMoveEvent(event)

    def dragMoveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:  # noqa: N802 (Qt override)
        if carries_layer(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.edge_drop.track_layer(event.mimeData(), event.scenePos())
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QGraphicsSceneDragDropEvent) -> None:  # noqa: N802 (Qt override)
        self.edge_drop.clear()
        event.accept()

    def dropEvent(self, event: QGraphicsSceneDragDropEvent) -> None:  # noqa: N802 (Qt override)
        type_name = type_from_mime_data(event.mimeData())
        edge, pos = self.edge_drop.accepted_edge, event.scenePos()
        refusal = self.edge_drop.refusal
        self.edge_drop.clear()
        if type_name is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        pos = snap(pos) if self.snap_to_grid else pos
        if edge is not None and edge in self._edges:
            self.layer_dropped_on_edge.emit(type_name, edge, pos)
        else:
            self.layer_dropped.emit(type_name, pos)
            if refusal is not None:  # the edge was marked red: say why it was not split
                self.drop_refused.emit(refusal)
