"""A block use expanded in place: its definition's layers in a frame under the use's card.

The frame is a child of the use's :class:`NodeItem` (it moves with it) and is read-only:
its cards cannot be selected, moved or wired, and double-clicking the frame asks to edit
the definition (where every use follows). Shapes and counts are this use's, from the
analysis of the expansion (``use.inner`` ids). :class:`BlockFrames` is the scene's part.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from graph_engine import shape_text
from graph_engine.block_face import spec_of
from graph_engine.layout import layered_layout
from widgets.canvas.labels import param_count_text
from widgets.canvas.node_item import NodeItem
from widgets.theme import BORDER_COLOR, TEXT_COLOR, canvas_fonts, category_color

if TYPE_CHECKING:
    from graph_engine import Analysis, Graph

#: room between the use's card and its frame, and inside the frame around its cards
GAP, MARGIN, HEADER = 14.0, 18.0, 26.0


class BlockFrame(QGraphicsItem):
    """The inside of one use, drawn under its card."""

    def __init__(self, use: NodeItem, graph: "Graph", analysis: "Analysis | None"):
        super().__init__(use)
        self.use_id = use.node_id
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self._cards: dict[str, NodeItem] = {}
        self._paths: list[QPainterPath] = []
        self._rect = QRectF()
        self._title = ""
        self.rebuild(use, graph, analysis)

    def cards(self) -> dict[str, NodeItem]:
        """The inner cards by the definition's ids (read-only items)."""
        return dict(self._cards)

    def rebuild(self, use: NodeItem, graph: "Graph", analysis: "Analysis | None") -> None:
        """Draw the definition of ``use``'s type again (it or the analysis changed)."""
        for card in self._cards.values():
            card.setParentItem(None)
            if card.scene() is not None:
                card.scene().removeItem(card)
        self._cards = {}
        definition = graph.blocks.get(use.node.type)
        self.prepareGeometryChange()
        if definition is None:
            self._rect, self._paths = QRectF(), []
            return
        inner = definition.graph
        positions = {n.id: n.position for n in inner}
        if any(p is None for p in positions.values()):
            positions = layered_layout(inner)
        left = min((p[0] for p in positions.values()), default=0.0)
        top = min((p[1] for p in positions.values()), default=0.0)
        connected: dict[str, Counter[int]] = {}
        for edge in inner.edges:
            connected.setdefault(edge.target, Counter())[edge.port] += 1
        flat = analysis.compiled() if analysis is not None else None
        for node in inner:
            card = NodeItem(node, connected.get(node.id), spec_of(graph, node.type))
            card.read_only = True
            card.setFlags(QGraphicsItem.GraphicsItemFlag(0))
            card.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            card.setParentItem(self)
            x, y = positions[node.id]
            card.set_model_position((x - left + MARGIN, y - top + MARGIN + HEADER))
            info = flat.info(f"{self.use_id}.{node.id}") if flat is not None else None
            if info is not None and info.out_shapes:
                card.set_analysis(" | ".join(shape_text(s) for s in info.out_shapes),
                                  param_count_text(info.params), None, [])
            self._cards[node.id] = card
        self._paths = []
        for edge in inner.edges:
            source, target = self._cards.get(edge.source), self._cards.get(edge.target)
            if source is None or target is None:
                continue
            a = source.mapToParent(source.output_port_pos(edge.source_port))
            b = target.mapToParent(target.input_port_pos(edge.port))
            path = QPainterPath(a)
            dx = max(40.0, abs(b.x() - a.x()) / 2)
            path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
            self._paths.append(path)
        bounds = QRectF()
        for card in self._cards.values():
            bounds = bounds.united(card.mapRectToParent(card.boundingRect()))
        self._rect = QRectF(0.0, 0.0, bounds.right() + MARGIN, bounds.bottom() + MARGIN)
        self.setPos(0.0, use.height + GAP)
        self._title = f"{definition.name} · inside {self.use_id} (read-only) · double-click to edit the block"
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colour = category_color("Block")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = colour.lighter(190)
        fill.setAlpha(70)
        painter.setBrush(fill)
        pen = QPen(colour, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(self._rect, 10, 10)
        painter.setFont(canvas_fonts().small)
        painter.setPen(TEXT_COLOR)
        painter.drawText(QRectF(MARGIN, 4, max(0.0, self._rect.width() - 2 * MARGIN), HEADER - 6),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self._title)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(BORDER_COLOR.darker(130), 1.4))
        for path in self._paths:
            painter.drawPath(path)


class BlockFrames:
    """The scene's expanded uses (a mixin of GraphScene: ``_nodes``, ``_graph``, ``_analysis``)."""

    def _frames(self) -> dict[str, BlockFrame]:
        if not hasattr(self, "_block_frames"):
            self._block_frames: dict[str, BlockFrame] = {}
        return self._block_frames

    def is_expanded(self, node_id: str) -> bool:
        return node_id in self._frames()

    def frame(self, node_id: str) -> BlockFrame | None:
        return self._frames().get(node_id)

    def set_expanded(self, node_id: str, expanded: bool) -> None:
        """Show a use's inside in a frame under it (True) or only its card (False)."""
        frames = self._frames()
        item = self._nodes.get(node_id)
        if not expanded or item is None or not item.is_block_use:
            frame = frames.pop(node_id, None)
            if frame is not None:
                frame.setParentItem(None)
                self.removeItem(frame)
            return
        if node_id in frames:
            return
        frames[node_id] = BlockFrame(item, self._graph, self._analysis)

    def refresh_frames(self) -> None:
        """Draw every frame again (a definition or the analysis changed; a use went)."""
        for node_id in list(self._frames()):
            item = self._nodes.get(node_id)
            if item is None or not item.is_block_use:
                self.set_expanded(node_id, False)
            else:
                self._frames()[node_id].rebuild(item, self._graph, self._analysis)

    def frame_at(self, scene_pos) -> BlockFrame | None:
        for item in self.items(scene_pos):
            if isinstance(item, BlockFrame):
                return item
        return None
