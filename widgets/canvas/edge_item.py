"""An edge of the canvas: :class:`EdgeItem`, a Bézier curve labelled with its tensor shape."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from widgets.canvas.geometry import EDGE_LABEL_RAISE, TEXT_MIN_LOD, bezier_midpoint, bezier_path
from widgets.canvas.routing import needs_route, route
from widgets import theme
from widgets.theme import (
    EDGE_COLOR, EDGE_LABEL_BACKGROUND, EDGE_LABEL_COLOR, SELECTION_COLOR, canvas_fonts,
)

if TYPE_CHECKING:
    from graph_engine import Edge
    from widgets.canvas.node_item import NodeItem


class EdgeItem(QGraphicsItem):
    """A connection: a cubic Bézier from the source's output port to the target's input
    port, with the tensor shape flowing along it as a label at its midpoint."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, edge: "Edge", source: "NodeItem", target: "NodeItem"):
        super().__init__()
        self.edge = edge
        self.source_item = source
        self.target_item = target
        self._label = ""
        self._label_rect = QRectF()
        self._path = QPainterPath()
        self._mid = QPointF()
        self._shape_path: QPainterPath | None = None
        self._bounds = QRectF()
        #: "accepted" / "refused" while a node hovers over it to be dropped (see edge_drop.py)
        self.drop_mark: str | None = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.setAcceptHoverEvents(True)
        self.update_path()

    def type(self) -> int:  # noqa: A003  (Qt override)
        return self.Type

    @property
    def label(self) -> str:
        self._freshen()
        return self._label

    def _freshen(self) -> None:
        """A label that waited for a view to show it (GraphScene.freshen), made now: read."""
        freshen = getattr(self.scene(), "freshen_node", None)
        if freshen is not None:
            freshen(self.edge.source)

    @property
    def path(self) -> QPainterPath:
        return QPainterPath(self._path)

    def midpoint(self) -> QPointF:
        return QPointF(self._mid)

    def set_label(self, text: str, redraw: bool = True) -> None:
        """Show ``text`` at the midpoint (``redraw`` False: no view draws labels at its zoom).
        The bounds grow to take a wider label but do not shrink for a narrower one (the
        curve's own change resets them): an edit that changes 5,000 shapes then moves no item
        in the scene's index, where telling Qt of each geometry change cost more than the
        rest of the edit."""
        if text == self._label:
            return
        self._label = text
        self._label_rect = self._label_box(text)
        if text and not self._bounds.contains(self._label_rect):
            self._update_bounds()
        if redraw:
            self.update()

    def set_drop_mark(self, mark: str | None) -> None:
        """Draw this edge as the target of a drop ("accepted", "refused") or plainly (None)."""
        if mark != self.drop_mark:
            self.drop_mark = mark
            self.setZValue(-0.5 if mark else -1)
            self.update()

    def toolTip(self) -> str:  # noqa: N802 (Qt's name; Qt itself is given the text on hover)
        """``conv1 → relu1 (input): 6×28×28``, made when asked."""
        self._freshen()
        edge = self.edge
        source = f"{edge.source}.{self._port_name(self.source_item, edge.source_port, output=True)}" \
            if edge.source_port else edge.source
        return (f"{source} → {edge.target} ({self._port_name(self.target_item, edge.port, output=False)})"
                + (f": {self._label}" if self._label else ""))

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.setToolTip(self.toolTip())
        super().hoverEnterEvent(event)

    @staticmethod
    def _port_name(item, port: int, output: bool) -> str:
        spec = item.spec
        if spec is None:
            return f"{'output' if output else 'input'} {port}"
        return spec.output_name(port) if output else spec.input_name(port)

    def update_path(self) -> None:
        """The plain curve now; a long edge is routed around nodes once the scene has settled
        (:meth:`route_around`)."""
        start = self.source_item.output_port_scene_pos(self.edge.source_port)
        end = self.target_item.input_port_scene_pos(self.edge.port)
        self._path = bezier_path(start, end)
        self._mid = bezier_midpoint(start, end)
        self._shape_path = None
        self._update_bounds()
        scene = self.scene()
        if scene is not None and needs_route(start, end):
            scene.request_route(self)

    def is_long(self) -> bool:
        """Whether it may pass behind other nodes (and so is routed once the scene settles)."""
        return needs_route(self._path.pointAtPercent(0.0), self._path.pointAtPercent(1.0))

    def route_around(self, blocked) -> None:
        """Take a path through a free lane when the curve would pass behind a node."""
        start = self.source_item.output_port_scene_pos(self.edge.source_port)
        end = self.target_item.input_port_scene_pos(self.edge.port)
        routed = route(start, end, blocked)
        if routed is None:
            return
        self._path = routed
        self._mid = routed.pointAtPercent(0.5)
        self._shape_path = None
        self._update_bounds()
        self.update()

    def _label_box(self, text: str) -> QRectF:
        """Where ``text`` is drawn: centred above the midpoint (empty for no text)."""
        if not text:
            return QRectF()
        w, h = _label_size(text)
        mid = self._mid
        return QRectF(mid.x() - w / 2, mid.y() - EDGE_LABEL_RAISE - h / 2, w, h)

    def _update_bounds(self) -> None:
        self.prepareGeometryChange()
        bounds = self._path.boundingRect().adjusted(-6, -6, 6, 6)
        self._label_rect = self._label_box(self._label)
        if self._label:
            bounds = bounds.united(self._label_rect.adjusted(-1, -1, 1, 1))
        self._bounds = bounds

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape_path is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10.0)
            self._shape_path = stroker.createStroke(self._path)
        return self._shape_path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        selected = self.isSelected()
        pen = QPen(SELECTION_COLOR if selected else EDGE_COLOR, 2.5 if selected else 1.5)
        if self.drop_mark is not None:  # a node hovering to be inserted here: blue, or red dashed
            refused = self.drop_mark == "refused"
            color = QColor(theme.ERROR_COLOR if refused else theme.DROP_HINT_COLOR)
            color.setAlpha(70)
            painter.setPen(QPen(color, 12.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawPath(self._path)  # a halo: the edge may be short, or under the node
            pen = QPen(theme.ERROR_COLOR if refused else theme.DROP_HINT_COLOR, 3.0,
                       Qt.PenStyle.DashLine if refused else Qt.PenStyle.SolidLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if not self._label:
            return
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_MIN_LOD:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(EDGE_LABEL_BACKGROUND))
        painter.drawRoundedRect(self._label_rect, 3, 3)
        painter.setFont(canvas_fonts().small)
        painter.setPen(SELECTION_COLOR if selected else EDGE_LABEL_COLOR)
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self._label)


@lru_cache(maxsize=4096)
def _label_size(text: str) -> tuple[float, float]:
    """The label box's width and height for ``text`` (a big graph shows a few shapes thousands
    of times: each is measured once)."""
    f = canvas_fonts()
    return f.small_metrics.horizontalAdvance(text) + 4, f.small_metrics.height()
