"""The canvas scene: draws a :class:`graph_engine.Graph` and turns gestures into intents.

The graph is the single source of truth. The scene builds one :class:`NodeItem` per node
and one :class:`EdgeItem` per edge, keyed by node id and by ``Edge``, and keeps them in
step with the graph's events. It never mutates the graph: gestures become intent signals
(``connect_requested``, ``nodes_moved``, ``delete_requested``, ``layer_dropped``) that the
app turns into undo commands, whose model events then redraw the items.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Iterable, Iterator

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from graph_engine import Edge
from graph_engine.block_face import use_spec
from widgets.canvas.block_frame import BlockFrames
from widgets.canvas.edge_drop import EdgeDrop, PaletteDrops
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.geometry import SCENE_EXTENT
from widgets.canvas.gestures import moved_nodes
from widgets.canvas.wiring import Wiring
from widgets.canvas.node_item import NodeItem
from widgets.canvas.overlays import NodeOverlays
from widgets.canvas.scene_marks import SceneMarks
from widgets.drag_mime import LAYER_MIME_TYPE

if TYPE_CHECKING:
    from graph_engine import Analysis, Graph, LayerSpec, Node



class GraphScene(PaletteDrops, SceneMarks, BlockFrames, QGraphicsScene):
    """Items for every node and edge of ``graph``, kept in step with its events.

    Signals (intents; the scene itself never changes the graph):

    - ``connect_requested(str source, str target, int port, int source_port)``
    - ``nodes_moved(dict)``: ``{node_id: ((old_x, old_y), (new_x, new_y))}``, once per drag
    - ``delete_requested(list node_ids, list edges)``
    - ``reconnect_requested(Edge old, Edge new)``: an edge's end picked up and dropped elsewhere
    - ``node_dropped_on_edge(str node_id, Edge edge, tuple position)``: a free node dragged onto
      an edge, to be inserted there
    - ``layer_dropped(str type_name, QPointF scene_pos)``
    - ``layer_dropped_on_edge(str type_name, Edge edge, QPointF scene_pos)``: a palette layer
      dropped onto an edge that accepts it (edge_drop.py marks the edge while it hovers)
    - ``drop_refused(str why)``: a layer or a free node dropped on an edge that refuses it
      (``Input takes no input``): it was only placed or moved
    - ``selection_changed_ids(list node_ids)``
    - ``context_requested(str kind, object target, QPointF scene_pos, QPoint screen_pos)``: a
      right click on a node ("node", its id), an edge ("edge", the Edge) or the canvas ("canvas", None)
    - ``title_activated(str node_id)``: a node's title was double-clicked (rename in place)
    - ``block_opened(str node_id)``: a block use was double-clicked elsewhere (edit its definition)
    - ``leave_requested()``: Escape with nothing else to cancel (leave a block's definition)
    """

    connect_requested = Signal(str, str, int, int)
    nodes_moved = Signal(dict)
    delete_requested = Signal(list, list)
    reconnect_requested = Signal(object, object)
    node_dropped_on_edge = Signal(str, object, tuple)
    layer_dropped = Signal(str, QPointF)
    layer_dropped_on_edge = Signal(str, object, QPointF)
    drop_refused = Signal(str)
    selection_changed_ids = Signal(list)
    context_requested = Signal(str, object, QPointF, QPoint)
    title_activated = Signal(str)
    block_opened = Signal(str)
    leave_requested = Signal()
    #: nodes were added, removed or moved, or a node changed type (not: new params or labels)
    layout_changed = Signal()

    def __init__(self, graph: "Graph", parent=None, build: bool = True):
        """``build`` False: the items are made by :meth:`build_steps`, a chunk at a time (a
        big graph opened with progress and cancel); the scene follows the graph from then."""
        super().__init__(parent)
        self.setSceneRect(QRectF(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT))
        #: shape labels on edges (a graph with very many edges opens without them)
        self.edge_labels = True
        #: snap dragged nodes (and drop points) to a 20 px grid
        self.snap_to_grid = False
        self._graph = graph
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict["Edge", EdgeItem] = {}
        self._analysis: "Analysis | None" = None
        self._highlighted: set[str] = set()
        # training marks (badges, bars) by node id, re-applied when a node item is rebuilt
        self._overlays = NodeOverlays()
        # the connection being dragged (from a port, or an edge's end picked up), if any
        self._wiring = Wiring(self)
        # the edge a node dragged over it would be inserted on (marked while it hovers)
        self.edge_drop = EdgeDrop(self)
        # node move: positions of the selected nodes when the left button went down
        self._press_positions: dict[str, QPointF] | None = None
        self._last_selection: list[str] = []
        self._attached = False
        # long edges to route around nodes once the items have settled
        self._to_route: set[EdgeItem] = set()
        # cards whose texts (and their edges' labels) wait for a view to show them (scene_marks.py)
        self._stale: set[str] = set()
        # the stage names follow the nodes' ids and places: redone only when those changed
        self._stages_stale = True
        self._route_timer = QTimer(self)
        self._route_timer.setSingleShot(True)
        self._route_timer.setInterval(0)
        self._route_timer.timeout.connect(self.route_edges)
        self.selectionChanged.connect(self._on_selection_changed)
        if build:
            for _done in self.build_steps(chunk=0):
                pass

    # -- reading ------------------------------------------------------------------------
    @property
    def graph(self) -> "Graph":
        return self._graph

    @property
    def analysis(self) -> "Analysis | None":
        """The analysis last given to :meth:`set_analysis`."""
        return self._analysis

    def node_item(self, node_id: str) -> NodeItem | None:
        return self._nodes.get(node_id)

    def edge_item(self, edge: "Edge") -> EdgeItem | None:
        return self._edges.get(edge)

    def node_items(self) -> dict[str, NodeItem]:
        """Node items by id (a copy)."""
        return dict(self._nodes)

    def edge_items(self) -> dict["Edge", EdgeItem]:
        """Edge items by edge (a copy)."""
        return dict(self._edges)

    def selected_node_ids(self) -> list[str]:
        """Selected node ids, in the graph's order (from Qt's list of the few selected items, not
        a question to each of 10,000)."""
        chosen = {item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)}
        if len(chosen) < 2:
            return [nid for nid in chosen if nid in self._nodes]
        return [nid for nid in self._nodes if nid in chosen]

    def selected_edges(self) -> list["Edge"]:
        return [edge for edge, item in self._edges.items() if item.isSelected()]

    def highlighted_ids(self) -> set[str]:
        return set(self._highlighted)

    def is_connecting(self) -> bool:
        """True while the user drags a new connection."""
        return self._wiring.active

    # -- selection (for the app: e.g. select the node a diagnostic names) --------------
    def select_ids(self, node_ids: Iterable[str]) -> None:
        """Select exactly these nodes (unknown ids are ignored); one selection signal."""
        wanted = set(node_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for nid in wanted:
                item = self._nodes.get(nid)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self._on_selection_changed()

    # -- model events -------------------------------------------------------------------
    def _subscriptions(self):
        """The graph's signals and the handlers this scene keeps connected to them."""
        graph = self._graph
        return ((graph.node_added, self._on_node_added), (graph.node_removed, self._on_node_removed),
                (graph.node_changed, self._on_node_changed), (graph.edge_added, self._on_edge_added),
                (graph.edge_removed, self._on_edge_removed), (graph.blocks_changed, self._on_blocks_changed))

    def detach(self) -> None:
        """Stop listening to the graph (call before dropping the scene or the graph)."""
        if not self._attached:
            return
        self._attached = False
        for signal, handler in self._subscriptions():
            signal.disconnect(handler)

    def _attach(self) -> None:
        for signal, handler in self._subscriptions():
            signal.connect(handler)
        self._attached = True

    def build_steps(self, chunk: int = 1000) -> Iterator[float]:
        """Make every node and edge item, yielding the fraction done after each ``chunk``
        items (0: in one go); the scene follows the graph's events once it is done."""
        ports: dict[str, Counter[int]] = defaultdict(Counter)
        edges = self._graph.edges
        for edge in edges:
            ports[edge.target][edge.port] += 1
        total, made = max(1, len(self._graph) + len(edges)), 0
        for node in list(self._graph):
            item = NodeItem(node, ports.get(node.id), self._block_spec(node.type))
            self._nodes[node.id] = item
            self.addItem(item)
            made += 1
            if chunk and made % chunk == 0:
                yield made / total
        for edge in list(edges):
            self._add_edge_item(edge)
            made += 1
            if chunk and made % chunk == 0:
                yield made / total
        self._attach()
        self._route_timer.start()  # stage names and routes once the items are in place
        self.layout_changed.emit()
        yield 1.0

    def _block_spec(self, type_name: str) -> "LayerSpec | None":
        """A block use's face (its definition's ports and params); None for a layer."""
        definition = self._graph.blocks.get(type_name)
        return use_spec(definition) if definition is not None else None

    def _on_blocks_changed(self, name: str) -> None:
        spec = self._block_spec(name)
        for item in self._nodes.values():
            if item.node.type == name:
                item.set_spec(spec)
                for edge_item in item.edges:
                    edge_item.update_path()
        self.refresh_frames()

    def _node_layout_changed(self) -> None:
        self._stages_stale = True
        self._route_timer.start()
        self.layout_changed.emit()

    def _on_node_added(self, node: "Node") -> None:
        self._node_layout_changed()
        item = NodeItem(node, spec=self._block_spec(node.type))
        self._nodes[node.id] = item
        self.addItem(item)
        self._overlays.node_added(node.id, item)

    def _on_node_removed(self, node: "Node") -> None:
        self._node_layout_changed()
        item = self._nodes.pop(node.id, None)
        if item is None:
            return
        for edge_item in list(item.edges):   # the graph removes edges first; be safe anyway
            self._remove_edge_item(edge_item.edge)
        self._highlighted.discard(node.id)
        self._wiring.node_removed(item)
        if self._press_positions is not None:
            self._press_positions.pop(node.id, None)
        self._overlays.node_removed(node.id)
        self.set_expanded(node.id, False)
        self.removeItem(item)

    def _on_node_changed(self, old: "Node", new: "Node") -> None:
        if (old.position, old.type) != (new.position, new.type):
            self._node_layout_changed()
        else:
            self._route_timer.start()
        item = self._nodes.get(new.id)
        if item is None:
            return
        item.set_node(new)
        if new.type != old.type:
            item.set_spec(self._block_spec(new.type))
        self._overlays.relayout(new.id)
        for edge_item in item.edges:
            edge_item.update_path()

    def _on_edge_added(self, edge: "Edge") -> None:
        target = self._nodes.get(edge.target)
        if target is None or edge.source not in self._nodes or edge in self._edges:
            return
        if target.add_connection(edge.port):
            self._reroute(target)
        self._add_edge_item(edge)

    def _on_edge_removed(self, edge: "Edge") -> None:
        if edge not in self._edges:
            return
        self._remove_edge_item(edge)
        target = self._nodes.get(edge.target)
        if target is not None and target.remove_connection(edge.port):
            self._reroute(target)

    def _add_edge_item(self, edge: "Edge") -> EdgeItem:
        source, target = self._nodes[edge.source], self._nodes[edge.target]
        item = EdgeItem(edge, source, target)
        self._edges[edge] = item
        source.edges.add(item)
        target.edges.add(item)
        self.addItem(item)
        if item.is_long():  # made before it had a scene: ask for its route now
            self.request_route(item)
        return item

    def _remove_edge_item(self, edge: "Edge") -> None:
        item = self._edges.pop(edge, None)
        if item is None:
            return
        item.source_item.edges.discard(item)
        item.target_item.edges.discard(item)
        self.edge_drop.edge_removed(item)
        self.removeItem(item)

    def _reroute(self, node: NodeItem) -> None:
        for edge_item in node.edges:
            edge_item.update_path()
        self._overlays.relayout(node.node_id)

    # -- gestures: connect and move -----------------------------------------------------
    def node_at(self, scene_pos: QPointF, exclude: NodeItem | None = None) -> NodeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem) and item is not exclude and not item.read_only:
                return item
        return None

    def set_analysis(self, analysis: "Analysis | None") -> None:
        super().set_analysis(analysis)
        self.refresh_frames()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._wiring.active:
            if self._wiring.press(event.scenePos()):
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_positions = {item.node_id: item.pos() for item in self._nodes.values()
                                     if item.isSelected()}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wiring.active:
            self._wiring.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)
        if self._press_positions is not None and len(self._press_positions) == 1:
            self.edge_drop.track_node(self._nodes[next(iter(self._press_positions))])

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wiring.active:
            if event.button() == Qt.MouseButton.LeftButton:
                self._wiring.release(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._press_positions is not None:
            before, self._press_positions = self._press_positions, None
            self._report_moves(before)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        node = self.node_at(event.scenePos())
        if node is not None and event.button() == Qt.MouseButton.LeftButton \
                and node.on_title(node.mapFromScene(event.scenePos())):
            self.title_activated.emit(node.node_id)
            event.accept()
            return
        frame = self.frame_at(event.scenePos()) if node is None else None
        if event.button() == Qt.MouseButton.LeftButton and (frame is not None or (node is not None and node.is_block_use)):
            self.block_opened.emit(frame.use_id if frame is not None else node.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt override)
        pos = event.scenePos()
        for item in self.items(pos):
            if isinstance(item, NodeItem) and not item.read_only:
                if not item.isSelected():
                    self.select_ids([item.node_id])
                self.context_requested.emit("node", item.node_id, pos, event.screenPos())
                break
            if isinstance(item, EdgeItem) and item.isVisible():
                self.context_requested.emit("edge", item.edge, pos, event.screenPos())
                break
        else:
            self.context_requested.emit("canvas", None, pos, event.screenPos())
        event.accept()

    def _report_moves(self, before: dict[str, QPointF]) -> None:
        moved = moved_nodes(before, self._nodes)
        if not moved:
            return
        item = self._nodes.get(next(iter(moved))) if len(moved) == 1 else None
        if item is not None:
            self.edge_drop.track_node(item)
        edge = self.edge_drop.accepted_edge if item is not None else None
        refusal = self.edge_drop.refusal if item is not None else None
        self.edge_drop.clear()
        if edge is not None:
            self.node_dropped_on_edge.emit(item.node_id, edge, moved[item.node_id][1])
        else:
            self.nodes_moved.emit(moved)
            if refusal is not None:  # the edge was marked red: say why it was not split
                self.drop_refused.emit(refusal)
        # The model decides: after the app's command the items already sit where the
        # model says; if nothing was done, this puts them back.
        for nid in moved:
            item = self._nodes.get(nid)
            if item is not None and nid in self._graph:
                item.set_model_position(self._graph.node(nid).position)

    # -- keys ---------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if self._wiring.active:
                self._wiring.cancel()
            else:
                self.leave_requested.emit()
            event.accept()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not self._wiring.active \
                and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            if self.request_delete():
                event.accept()
                return
        super().keyPressEvent(event)

    def request_delete(self) -> bool:
        """Emit ``delete_requested`` for the selection; False when nothing is selected.

        Edges into or out of a deleted node are not listed: removing the node removes them.
        """
        node_ids = self.selected_node_ids()
        doomed = set(node_ids)
        edges = [e for e in self.selected_edges()
                 if e.source not in doomed and e.target not in doomed]
        if not node_ids and not edges:
            return False
        self.delete_requested.emit(node_ids, edges)
        return True

    # -- selection ----------------------------------------------------------------------
    def _on_selection_changed(self) -> None:
        ids = self.selected_node_ids()
        if ids != self._last_selection:
            self._last_selection = ids
            self.selection_changed_ids.emit(ids)


__all__ = ["GraphScene", "LAYER_MIME_TYPE"]
