"""Wiring by hand on the canvas: what a press on a port starts and what its release asks for.

- From an output port: a new connection, forward, to an input (or a node's free input).
- From a free input port: a connection dragged backwards, to an output (or a node's first).
- From a connected input port: that edge's end is picked up (Blender's way): released on
  another input it is re-routed there, on nothing it is detached (removed), on its own port
  nothing happens.

The scene owns one :class:`Wiring`; it only draws and measures, and answers with intents
through the scene's signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from graph_engine import Edge
from widgets.canvas.gestures import ConnectionDrag
from widgets.canvas.node_item import NodeItem

if TYPE_CHECKING:
    from widgets.canvas.scene import GraphScene


class Wiring:
    """The connection gesture in progress, if any, for one scene."""

    def __init__(self, scene: "GraphScene"):
        self._scene = scene
        self.drag: ConnectionDrag | None = None

    @property
    def active(self) -> bool:
        return self.drag is not None

    def press(self, pos: QPointF) -> bool:
        """A left press at ``pos``: True when it started a connection gesture."""
        scene = self._scene
        node = scene.node_at(pos)
        if node is None:
            return False
        hit = node.port_at(node.mapFromScene(pos))
        if hit is None:
            return False
        output = NodeItem.output_of(hit)
        if output is not None:
            self.drag = ConnectionDrag(scene, node, scene.node_at, output)
        else:
            taken = [e for e in scene.graph.in_edges(node.node_id) if e.port == hit]
            if taken:  # pick up the end of the (last) edge into this port
                edge = taken[-1]
                source = scene.node_item(edge.source)
                if source is None:
                    return False
                self.drag = ConnectionDrag(scene, source, scene.node_at, edge.source_port, detached=edge)
                item = scene.edge_item(edge)
                if item is not None:
                    item.hide()
            else:
                self.drag = ConnectionDrag(scene, node, scene.node_at, hit, reverse=True)
        self.drag.move(pos)
        return True

    def move(self, pos: QPointF) -> None:
        if self.drag is not None:
            self.drag.move(pos)

    def cancel(self) -> None:
        drag, self.drag = self.drag, None
        if drag is not None:
            drag.cancel()
            self._show(drag.detached)

    def release(self, pos: QPointF) -> None:
        drag, self.drag = self.drag, None
        if drag is None:
            return
        found = drag.finish(pos)
        scene = self._scene
        self._show(drag.detached)
        if drag.reverse:
            if found is not None:
                (source, output), target = found, drag.source
                edge = Edge(source.node_id, target.node_id, drag.source_port, output)
                if edge not in scene.graph.edges:
                    scene.connect_requested.emit(edge.source, edge.target, edge.port, edge.source_port)
            return
        source = drag.source
        if found is None:
            if drag.detached is not None:
                scene.delete_requested.emit([], [drag.detached])
            return
        target, port = found
        edge = Edge(source.node_id, target.node_id, port, drag.source_port)
        if edge == drag.detached or edge in scene.graph.edges:
            return
        if drag.detached is not None:
            scene.reconnect_requested.emit(drag.detached, edge)
        else:
            scene.connect_requested.emit(edge.source, edge.target, edge.port, edge.source_port)

    def node_removed(self, item: NodeItem) -> None:
        drag = self.drag
        if drag is None:
            return
        if item is drag.source:
            self.cancel()
        elif item is drag.hint:
            drag.hint = None

    def _show(self, edge: Edge | None) -> None:
        if edge is not None:
            item = self._scene.edge_item(edge)
            if item is not None:
                item.show()
