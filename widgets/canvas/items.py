"""Graphics items of the canvas: :class:`NodeItem` (one layer) and :class:`EdgeItem` (one edge).

Items draw state; they never touch the model. Everything is painted in ``paint`` from
strings computed once per change (no child items, no effects), so a scene of a thousand
nodes builds and repaints quickly.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph_engine import get_spec

if TYPE_CHECKING:
    from graph_engine import Edge, LayerSpec, Node

NODE_WIDTH = 170.0
NODE_MIN_HEIGHT = 64.0
NODE_RADIUS = 6.0
PORT_SPACING = 18.0
PORT_RADIUS = 5.0
#: how far from a port's centre a press or release still counts as "on the port"
PORT_HIT_RADIUS = 11.0
STRIPE_HEIGHT = 5.0
TEXT_MARGIN = 8.0
GRID_SIZE = 20.0
#: below this zoom level nodes and edges drop their text (unreadable there anyway)
TEXT_MIN_LOD = 0.35

CATEGORY_COLORS = {
    "Input/Output": QColor("#475569"),
    "Convolution": QColor("#2563eb"),
    "Pooling": QColor("#0891b2"),
    "Dense": QColor("#7c3aed"),
    "Recurrent": QColor("#db2777"),
    "Merge / skip": QColor("#ea580c"),
    "Activation": QColor("#16a34a"),
    "Normalization & regularization": QColor("#a16207"),
    "Reshape": QColor("#64748b"),
}
UNKNOWN_COLOR = QColor("#9ca3af")

BODY_COLOR = QColor("#ffffff")
BORDER_COLOR = QColor("#9ca3af")
TEXT_COLOR = QColor("#111827")
MUTED_TEXT_COLOR = QColor("#6b7280")
SELECTION_COLOR = QColor("#2563eb")
HIGHLIGHT_COLOR = QColor("#c026d3")
ERROR_COLOR = QColor("#dc2626")
ERROR_BODY_COLOR = QColor("#fef2f2")
WARNING_COLOR = QColor("#d97706")
WARNING_BODY_COLOR = QColor("#fffbeb")
PORT_COLOR = QColor("#4b5563")
PORT_FREE_COLOR = QColor("#ffffff")
DROP_HINT_COLOR = QColor("#2563eb")
EDGE_COLOR = QColor("#6b7280")
EDGE_LABEL_BACKGROUND = QColor(243, 244, 246, 220)
EDGE_LABEL_COLOR = QColor("#374151")
#: the shape label sits this far above the curve's midpoint (centre to centre)
EDGE_LABEL_RAISE = 9.0

ERROR = "error"
WARNING = "warning"

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class _Fonts:
    """Fonts and metrics, made once a QGuiApplication exists."""

    def __init__(self) -> None:
        self.title = QFont()
        self.title.setPointSizeF(9.0)
        self.title.setBold(True)
        self.body = QFont()
        self.body.setPointSizeF(8.0)
        self.small = QFont()
        self.small.setPointSizeF(7.0)
        self.title_metrics = QFontMetricsF(self.title)
        self.body_metrics = QFontMetricsF(self.body)
        self.small_metrics = QFontMetricsF(self.small)


@functools.cache
def fonts() -> _Fonts:
    return _Fonts()


def format_param_value(value: object) -> str:
    """``[3, 5]`` -> ``3×5``, ``0.3`` -> ``0.3``, ``True`` -> ``True``."""
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(node: "Node", spec: "LayerSpec | None", everything: bool = False) -> str:
    """The node face's parameter line, e.g. ``out_channels=6 kernel_size=5``.

    The first two key params are always shown; later ones only where they differ from
    the default; ``None`` values ("same as the kernel") never. ``everything`` lists every
    key param (for the tooltip).
    """
    if spec is None:
        return ""
    parts = []
    for index, name in enumerate(spec.key_params):
        if name not in node.params:
            continue
        value = node.params[name]
        if not everything:
            if value is None:
                continue
            try:
                default = spec.param(name).default
            except KeyError:
                default = object()
            if index >= 2 and value == default:
                continue
        parts.append(f"{name}={format_param_value(value)}")
    return " ".join(parts)


def param_count_text(count: int) -> str:
    """``760`` -> ``760 params``; ``1234567`` -> ``1.23M params``; 0 -> empty."""
    if count <= 0:
        return ""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M params"
    return f"{count:,} params"


def curve_points(start: QPointF, end: QPointF) -> tuple[QPointF, QPointF]:
    """Control points of the edge curve from ``start`` (output port) to ``end`` (input port).

    Tangents are horizontal. A long edge along a row of nodes (a skip connection) bows
    below the row so that it does not hide behind the nodes it passes.
    """
    span = end.x() - start.x()
    if span > 2.5 * NODE_WIDTH and abs(end.y() - start.y()) < NODE_MIN_HEIGHT:
        sag = min(160.0, max(110.0, 0.06 * span))   # dips 0.75 * sag below the ports
        return (QPointF(start.x() + 60.0, start.y() + sag), QPointF(end.x() - 60.0, end.y() + sag))
    dx = max(40.0, abs(span) * 0.5)
    return (QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()))


def bezier_path(start: QPointF, end: QPointF) -> QPainterPath:
    """The cubic Bézier an edge (or a connection being dragged) is drawn as."""
    c1, c2 = curve_points(start, end)
    path = QPainterPath(start)
    path.cubicTo(c1, c2, end)
    return path


def bezier_midpoint(start: QPointF, end: QPointF) -> QPointF:
    """The curve's point at t = 0.5."""
    c1, c2 = curve_points(start, end)
    return (start + (c1 + c2) * 3 + end) / 8


def _port_y(port: int, count: int, height: float) -> float:
    return height / 2 + (port - (count - 1) / 2) * PORT_SPACING


@functools.lru_cache(maxsize=64)
def _node_paths(count: int, height: float, has_output: bool
                ) -> tuple[QPainterPath, QPainterPath, QPainterPath]:
    """Body, category stripe and hit shape of a node card (shared; never mutated)."""
    body = QPainterPath()
    body.addRoundedRect(QRectF(0, 0, NODE_WIDTH, height), NODE_RADIUS, NODE_RADIUS)
    top = QPainterPath()
    top.addRect(QRectF(0, 0, NODE_WIDTH, STRIPE_HEIGHT))
    stripe = body.intersected(top)
    shape = QPainterPath(body)
    centres = [QPointF(0.0, _port_y(p, count, height)) for p in range(count)]
    if has_output:
        centres.append(QPointF(NODE_WIDTH, height / 2))
    for centre in centres:
        shape.addEllipse(centre, PORT_HIT_RADIUS, PORT_HIT_RADIUS)
    shape.setFillRule(Qt.FillRule.WindingFill)
    return body, stripe, shape


class NodeItem(QGraphicsItem):
    """One layer node: a rounded card with a category stripe, text and ports.

    Input ports sit on the left edge (one per port; variadic Add/Concat show their
    connected ports plus one free port), the output port on the right edge (none for
    Output). The item's position is the node's top-left corner, as in ``Node.position``.
    """

    Type = QGraphicsItem.UserType + 1
    OUTPUT = -1  #: port_at's answer for the output port

    def __init__(self, node: "Node", connected_ports: "Counter[int] | None" = None):
        super().__init__()
        self._node = node
        self._spec = get_spec(node.type)
        self._connected: Counter[int] = Counter(connected_ports or ())
        #: edge items attached to this node (kept up to date by the scene)
        self.edges: set[EdgeItem] = set()
        self._shape_text = ""
        self._params_text = ""
        self._severity: str | None = None
        self._messages: list[str] = []
        self._highlighted = False
        self._drop_port: int | None = None
        self._from_model = False
        self._input_count = 0
        self._height = NODE_MIN_HEIGHT
        self._bounds = QRectF()
        self._shape_path = QPainterPath()
        self._body_path = QPainterPath()
        self._stripe_path = QPainterPath()
        self._title = self._type_text = self._key_text = ""
        self._key_small = False
        self._shape_line = ""
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._update_geometry()
        self._update_texts()
        self.set_model_position(node.position)

    # -- reading ------------------------------------------------------------------------
    def type(self) -> int:  # noqa: A003  (Qt override)
        return self.Type

    @property
    def node_id(self) -> str:
        return self._node.id

    @property
    def node(self) -> "Node":
        return self._node

    @property
    def spec(self) -> "LayerSpec | None":
        return self._spec

    @property
    def height(self) -> float:
        return self._height

    @property
    def input_count(self) -> int:
        """How many input ports the node shows now."""
        return self._input_count

    @property
    def has_output(self) -> bool:
        return self._spec.has_output if self._spec is not None else True

    @property
    def severity(self) -> str | None:
        """``"error"``, ``"warning"`` or None, from the last analysis."""
        return self._severity

    @property
    def messages(self) -> list[str]:
        return list(self._messages)

    @property
    def highlighted(self) -> bool:
        return self._highlighted

    @property
    def drop_port(self) -> int | None:
        """The input port marked as where a connection being dragged would land."""
        return self._drop_port

    @property
    def title(self) -> str:
        return self._node.label or self._node.id

    @property
    def key_params_line(self) -> str:
        return key_params_text(self._node, self._spec)

    @property
    def shape_label(self) -> str:
        """The output shape shown on the node ("" before an analysis)."""
        return self._shape_text

    @property
    def params_label(self) -> str:
        """E.g. ``"760 params"`` ("" for parameter-free layers or before an analysis)."""
        return self._params_text

    def border_color(self) -> QColor:
        if self._highlighted:
            return HIGHLIGHT_COLOR
        if self.isSelected():
            return SELECTION_COLOR
        if self._severity == ERROR:
            return ERROR_COLOR
        if self._severity == WARNING:
            return WARNING_COLOR
        return BORDER_COLOR

    def body_color(self) -> QColor:
        if self._severity == ERROR:
            return ERROR_BODY_COLOR
        if self._severity == WARNING:
            return WARNING_BODY_COLOR
        return BODY_COLOR

    def category_color(self) -> QColor:
        if self._spec is None:
            return UNKNOWN_COLOR
        return CATEGORY_COLORS.get(self._spec.category, UNKNOWN_COLOR)

    # -- ports --------------------------------------------------------------------------
    def input_port_pos(self, port: int) -> QPointF:
        """Centre of input ``port`` in item coordinates (ports past the shown ones stack on)."""
        return QPointF(0.0, _port_y(port, max(self._input_count, port + 1), self._height))

    def output_port_pos(self) -> QPointF:
        return QPointF(NODE_WIDTH, self._height / 2)

    def input_port_scene_pos(self, port: int) -> QPointF:
        return self.mapToScene(self.input_port_pos(port))

    def output_port_scene_pos(self) -> QPointF:
        return self.mapToScene(self.output_port_pos())

    def connected_ports(self) -> set[int]:
        return {p for p, n in self._connected.items() if n > 0}

    def port_at(self, pos: QPointF) -> int | None:
        """The port near ``pos`` (item coordinates): an input index, OUTPUT, or None."""
        best, best_d2 = None, PORT_HIT_RADIUS * PORT_HIT_RADIUS
        if self.has_output:
            d2 = _dist2(pos, self.output_port_pos())
            if d2 <= best_d2:
                best, best_d2 = self.OUTPUT, d2
        for port in range(self._input_count):
            d2 = _dist2(pos, self.input_port_pos(port))
            if d2 < best_d2 or (d2 == best_d2 and best is None):
                best, best_d2 = port, d2
        return best

    def free_port(self) -> int | None:
        """The first input port with nothing connected (for variadic nodes, the next one)."""
        connected = self.connected_ports()
        for port in range(self._input_count):
            if port not in connected:
                return port
        return None

    def body_contains(self, pos: QPointF) -> bool:
        return QRectF(0, 0, NODE_WIDTH, self._height).contains(pos)

    # -- updates from the scene ---------------------------------------------------------
    def set_node(self, node: "Node") -> None:
        """The model replaced this node's value (params, label, position or type)."""
        old = self._node
        self._node = node
        if node.type != old.type:
            self._spec = get_spec(node.type)
            self._update_geometry()
        if node.position != old.position:
            self.set_model_position(node.position)
        self._update_texts()
        self.update()

    def set_model_position(self, position: tuple[float, float] | None) -> None:
        """Place the item at the model's position (no snapping; None means the origin)."""
        x, y = position if position is not None else (0.0, 0.0)
        self._from_model = True
        try:
            self.setPos(float(x), float(y))
        finally:
            self._from_model = False

    def add_connection(self, port: int) -> bool:
        """An edge now feeds ``port``; returns True when the node's ports moved."""
        self._connected[port] += 1
        return self._update_geometry()

    def remove_connection(self, port: int) -> bool:
        self._connected[port] -= 1
        if self._connected[port] <= 0:
            del self._connected[port]
        return self._update_geometry()

    def set_analysis(self, shape: str, params: str, severity: str | None,
                     messages: list[str]) -> None:
        if (shape, params, severity, messages) == (self._shape_text, self._params_text,
                                                   self._severity, self._messages):
            return
        self._shape_text, self._params_text = shape, params
        self._severity, self._messages = severity, list(messages)
        self._update_texts()
        self.update()

    def set_highlighted(self, on: bool) -> None:
        if on != self._highlighted:
            self._highlighted = on
            self.setZValue(2 if on else (1 if self.isSelected() else 0))
            self.update()

    def set_drop_port(self, port: int | None) -> None:
        """Mark the port a connection being dragged would land on (None: none)."""
        if port != self._drop_port:
            self._drop_port = port
            self.update()

    # -- layout -------------------------------------------------------------------------
    def _shown_inputs(self) -> int:
        highest = max(self._connected, default=-1)
        spec = self._spec
        if spec is None:
            return max(1, highest + 1)
        low, high = spec.inputs
        if high is None:                # variadic: connected ports + one free port
            return max(low, highest + 2)
        return max(high, highest + 1)

    def _update_geometry(self) -> bool:
        count = self._shown_inputs()
        height = max(NODE_MIN_HEIGHT, (count + 1) * PORT_SPACING)
        if count == self._input_count and height == self._height and not self._bounds.isNull():
            return False
        self.prepareGeometryChange()
        self._input_count, self._height = count, height
        self._bounds = QRectF(-PORT_HIT_RADIUS, -2.0, NODE_WIDTH + 2 * PORT_HIT_RADIUS,
                              height + 4.0)
        self._body_path, self._stripe_path, self._shape_path = _node_paths(
            count, height, self.has_output)
        self.update()
        return True

    def _update_texts(self) -> None:
        f = fonts()
        width = NODE_WIDTH - 2 * TEXT_MARGIN
        node = self._node
        type_text = node.type
        type_width = f.small_metrics.horizontalAdvance(type_text)
        self._type_text = type_text
        self._title = f.title_metrics.elidedText(self.title, Qt.TextElideMode.ElideRight,
                                                 max(20.0, width - type_width - 6))
        key = self.key_params_line
        # the body font if the line fits, else the small one, else elided
        self._key_small = f.body_metrics.horizontalAdvance(key) > width
        metrics = f.small_metrics if self._key_small else f.body_metrics
        self._key_text = metrics.elidedText(key, Qt.TextElideMode.ElideRight, width)
        shape_width = width
        if self._params_text:
            shape_width -= f.small_metrics.horizontalAdvance(self._params_text) + 6
        self._shape_line = (f.body_metrics.elidedText(f"→ {self._shape_text}",
                                                      Qt.TextElideMode.ElideRight, shape_width)
                            if self._shape_text else "")
        self.setToolTip(self._tooltip())

    def _tooltip(self) -> str:
        node, spec = self._node, self._spec
        lines = [f"{self.title} ({node.type})" if node.label is None
                 else f"{node.label} — {node.id} ({node.type})"]
        if spec is None:
            lines.append("unknown layer type")
        else:
            every = key_params_text(node, spec, everything=True)
            if every:
                lines.append(every)
        if self._shape_text:
            lines.append(f"output: {self._shape_text}")
        if self._params_text:
            lines.append(self._params_text)
        if self._messages:
            lines.append("")
            prefix = "Error" if self._severity == ERROR else "Warning"
            lines += [f"{prefix}: {m}" for m in self._messages]
        if spec is not None and spec.help:
            lines += ["", spec.help]
        return "\n".join(lines)

    # -- QGraphicsItem ------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape_path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        border = self.border_color()
        width = 1.0
        if self._highlighted:
            width = 3.0
        elif self.isSelected() or self._severity is not None:
            width = 2.0
        painter.setPen(QPen(border, width))
        painter.setBrush(self.body_color())
        painter.drawPath(self._body_path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.category_color())
        painter.drawPath(self._stripe_path)

        if lod >= TEXT_MIN_LOD:
            f = fonts()
            inner = NODE_WIDTH - 2 * TEXT_MARGIN
            top = QRectF(TEXT_MARGIN, 9, inner, 18)
            middle = QRectF(TEXT_MARGIN, 27, inner, 16)
            bottom = QRectF(TEXT_MARGIN, self._height - 22, inner, 16)
            painter.setFont(f.title)
            painter.setPen(TEXT_COLOR)
            painter.drawText(top, _LEFT, self._title)
            painter.setFont(f.small if self._key_small else f.body)
            painter.drawText(middle, _LEFT, self._key_text)
            if self._shape_line:
                painter.setFont(f.body)
                painter.drawText(bottom, _LEFT, self._shape_line)
            painter.setFont(f.small)
            painter.setPen(MUTED_TEXT_COLOR)
            painter.drawText(top, _RIGHT, self._type_text)
            if self._params_text:
                painter.drawText(bottom, _RIGHT, self._params_text)

        connected = self.connected_ports()
        painter.setPen(QPen(PORT_COLOR, 1.2))
        for port in range(self._input_count):
            centre = self.input_port_pos(port)
            if port == self._drop_port:
                painter.setBrush(DROP_HINT_COLOR)
                painter.drawEllipse(centre, PORT_RADIUS + 2, PORT_RADIUS + 2)
                continue
            painter.setBrush(PORT_COLOR if port in connected else PORT_FREE_COLOR)
            painter.drawEllipse(centre, PORT_RADIUS, PORT_RADIUS)
        if self.has_output:
            painter.setBrush(self.category_color())
            painter.drawEllipse(self.output_port_pos(), PORT_RADIUS, PORT_RADIUS)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        Change = QGraphicsItem.GraphicsItemChange
        if change == Change.ItemPositionChange and not self._from_model:
            scene = self.scene()
            if scene is not None and getattr(scene, "snap_to_grid", False):
                return QPointF(round(value.x() / GRID_SIZE) * GRID_SIZE,
                               round(value.y() / GRID_SIZE) * GRID_SIZE)
        elif change == Change.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        elif change == Change.ItemSelectedHasChanged:
            if not self._highlighted:
                self.setZValue(1 if value else 0)
        return super().itemChange(change, value)


class EdgeItem(QGraphicsItem):
    """A connection: a cubic Bézier from the source's output port to the target's input
    port, with the tensor shape flowing along it as a label at its midpoint."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, edge: "Edge", source: NodeItem, target: NodeItem):
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
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.update_path()
        self._update_tooltip()

    def type(self) -> int:  # noqa: A003  (Qt override)
        return self.Type

    @property
    def label(self) -> str:
        return self._label

    @property
    def path(self) -> QPainterPath:
        return QPainterPath(self._path)

    def midpoint(self) -> QPointF:
        return QPointF(self._mid)

    def set_label(self, text: str) -> None:
        if text != self._label:
            self._label = text
            self._update_bounds()
            self.update()
            self._update_tooltip()

    def _update_tooltip(self) -> None:
        edge = self.edge
        self.setToolTip(f"{edge.source} → {edge.target} (input {edge.port})"
                        + (f": {self._label}" if self._label else ""))

    def update_path(self) -> None:
        start = self.source_item.output_port_scene_pos()
        end = self.target_item.input_port_scene_pos(self.edge.port)
        self._path = bezier_path(start, end)
        self._mid = bezier_midpoint(start, end)
        self._shape_path = None
        self._update_bounds()

    def _update_bounds(self) -> None:
        self.prepareGeometryChange()
        bounds = self._path.boundingRect().adjusted(-6, -6, 6, 6)
        if self._label:
            f = fonts()
            w = f.small_metrics.horizontalAdvance(self._label) + 4
            h = f.small_metrics.height()
            mid = self.midpoint()
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() - EDGE_LABEL_RAISE - h / 2, w, h)
            bounds = bounds.united(self._label_rect.adjusted(-1, -1, 1, 1))
        else:
            self._label_rect = QRectF()
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
        painter.setFont(fonts().small)
        painter.setPen(SELECTION_COLOR if selected else EDGE_LABEL_COLOR)
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self._label)


def _dist2(a: QPointF, b: QPointF) -> float:
    dx, dy = a.x() - b.x(), a.y() - b.y()
    return dx * dx + dy * dy


__all__ = [
    "CATEGORY_COLORS", "EdgeItem", "ERROR_COLOR", "GRID_SIZE", "HIGHLIGHT_COLOR", "NODE_MIN_HEIGHT",
    "NODE_WIDTH", "NodeItem", "SELECTION_COLOR", "WARNING_COLOR", "bezier_path", "key_params_text",
    "param_count_text",
]
