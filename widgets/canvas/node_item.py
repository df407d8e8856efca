"""A node of the canvas: :class:`NodeItem`, one layer drawn as a card with ports.

Everything is painted in ``paint`` from strings computed once per change (no child
items, no effects), so a scene of a thousand nodes builds and repaints quickly.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph_engine import Severity, get_spec
from graph_engine.block_face import BLOCK_CATEGORY
from widgets.canvas.geometry import (
    NODE_MIN_HEIGHT, NODE_WIDTH, PORT_HIT_RADIUS, PORT_SPACING, TEXT_MARGIN, banded_height, dist2,
    node_paths, port_y, snap,
)
from widgets.canvas.labels import key_params_text
from widgets.canvas.node_paint import TITLE_BOTTOM, paint_node
from widgets.theme import (
    BODY_COLOR, BORDER_COLOR, HIGHLIGHT_COLOR, SELECTION_COLOR, SEVERITY_BODY_COLORS, SEVERITY_COLORS,
    canvas_fonts, category_color,
)

if TYPE_CHECKING:
    from graph_engine import LayerSpec, Node
    from widgets.canvas.edge_item import EdgeItem



class NodeItem(QGraphicsItem):
    """One layer node: a rounded card with a category stripe, text and ports.

    Input ports sit on the left edge (one per port; variadic Add/Concat show their
    connected ports plus one free port), the output port on the right edge (none for
    Output). The item's position is the node's top-left corner, as in ``Node.position``.
    """

    Type = QGraphicsItem.UserType + 1
    #: a card inside an expanded block's frame: drawn only, never picked (see block_frame)
    read_only = False
    OUTPUT = -1  #: port_at's answer for the (first) output port; output k is -1 - k

    def __init__(self, node: "Node", connected_ports: "Counter[int] | None" = None,
                 spec: "LayerSpec | None" = None):
        """``spec``: the type's declaration when the registry does not have it (a block
        use's face: its definition's Inputs and Outputs as named ports)."""
        super().__init__()
        self._node = node
        self._spec = spec or get_spec(node.type)
        self._connected: Counter[int] = Counter(connected_ports or ())
        #: edge items attached to this node (kept up to date by the scene)
        self.edges: set["EdgeItem"] = set()
        self._shape_text = ""
        self._params_text = ""
        self._severity: Severity | None = None
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
        #: shape text per input and per output port, for a port's tooltip
        self._port_shapes: tuple[list[str], list[str]] = ([], [])
        self._banded = self._names_ports()
        self.setAcceptHoverEvents(True)
        self._hovered = False
        self.set_model_position(node.position)  # before geometry changes are sent: no edges yet
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._update_geometry()
        self._update_texts()

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
    def severity(self) -> Severity | None:
        """The worst :class:`Severity` of its diagnostics, or None, from the last analysis."""
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
        self._freshen()
        return self._shape_text

    @property
    def params_label(self) -> str:
        """E.g. ``"760 params"`` ("" for parameter-free layers or before an analysis)."""
        self._freshen()
        return self._params_text

    def _freshen(self) -> None:
        """Texts that waited for a view to show them (GraphScene.freshen), made now: read."""
        freshen = getattr(self.scene(), "freshen_node", None)
        if freshen is not None:
            freshen(self._node.id)

    def border_color(self) -> QColor:
        if self._highlighted:
            return HIGHLIGHT_COLOR
        if self.isSelected():
            return SELECTION_COLOR
        return SEVERITY_COLORS.get(self._severity, BORDER_COLOR)

    def body_color(self) -> QColor:
        return SEVERITY_BODY_COLORS.get(self._severity, BODY_COLOR)

    def category_color(self) -> QColor:
        return category_color(self._spec.category if self._spec is not None else None)

    # -- ports --------------------------------------------------------------------------
    def input_port_pos(self, port: int) -> QPointF:
        """Centre of input ``port`` in item coordinates (ports past the shown ones stack on)."""
        return QPointF(0.0, port_y(port, max(self._input_count, port + 1), self._height, self.banded))

    @property
    def banded(self) -> bool:
        """Ports with names sit in rows below the text, each with its name."""
        return self._banded

    def _names_ports(self) -> bool:
        return any(self.port_names())

    @property
    def output_count(self) -> int:
        """How many output ports the node has (an unknown type shows one)."""
        return len(self._spec.outputs_for(self._node.params)) if self._spec is not None else 1

    def output_port_pos(self, port: int = 0) -> QPointF:
        return QPointF(NODE_WIDTH, port_y(port, max(self.output_count, port + 1), self._height, self.banded))

    def input_port_scene_pos(self, port: int) -> QPointF:
        return self.mapToScene(self.input_port_pos(port))

    def output_port_scene_pos(self, port: int = 0) -> QPointF:
        return self.mapToScene(self.output_port_pos(port))

    @staticmethod
    def output_of(hit: int | None) -> int | None:
        """The output index a :meth:`port_at` answer names, or None for an input or nothing."""
        return -1 - hit if hit is not None and hit < 0 else None

    def connected_ports(self) -> set[int]:
        return {p for p, n in self._connected.items() if n > 0}

    def port_at(self, pos: QPointF) -> int | None:
        """The port near ``pos`` (item coordinates): an input index ≥ 0, an output as
        ``-1 - index`` (OUTPUT for the first), or None."""
        best, best_d2 = None, PORT_HIT_RADIUS * PORT_HIT_RADIUS
        for output in range(self.output_count if self.has_output else 0):
            d2 = dist2(pos, self.output_port_pos(output))
            if d2 <= best_d2:
                best, best_d2 = -1 - output, d2
        for port in range(self._input_count):
            d2 = dist2(pos, self.input_port_pos(port))
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

    # -- updates from the scene ---------------------------------------------------------
    def set_node(self, node: "Node") -> None:
        """The model replaced this node's value (params, label, position or type)."""
        old = self._node
        self._node = node
        if node.type != old.type:
            self._spec = get_spec(node.type)
            self._banded = self._names_ports()
        if node.type != old.type or node.params != old.params:  # Chunk's ports follow `chunks`
            self._update_geometry()
        if node.position != old.position:
            self.set_model_position(node.position)
        self._update_texts()
        self.update()

    def set_spec(self, spec: "LayerSpec | None") -> None:
        """Another declaration for this node's type (a block's definition changed)."""
        self._spec = spec or get_spec(self._node.type)
        self._banded = self._names_ports()
        self._bounds = QRectF()  # recompute the geometry even when the port count is the same
        self._update_geometry()
        self._update_texts()
        self.update()

    @property
    def is_block_use(self) -> bool:
        return self._spec is not None and self._spec.category == BLOCK_CATEGORY

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

    def set_analysis(self, shape: str, params: str, severity: Severity | None,
                     messages: list[str], redraw_texts: bool = True) -> None:
        """Show the analysis's texts and problem; ``redraw_texts`` False when no view is zoomed
        in far enough to draw texts: the card is repainted only if its problem changed."""
        if (shape, params, severity, messages) == (self._shape_text, self._params_text,
                                                   self._severity, self._messages):
            return
        repaint = redraw_texts or severity != self._severity
        self._shape_text, self._params_text = shape, params
        self._severity, self._messages = severity, list(messages)
        self._update_texts()
        if repaint:
            self.update()

    def set_problem(self, severity: Severity | None, messages: list[str]) -> None:
        """The card's problem alone (its texts follow when a view can show them): a new
        severity changes its colour, so it is repainted."""
        if severity != self._severity:
            self._severity = severity
            self.update()
        if messages != self._messages:
            self._messages = list(messages)
            if self._hovered:
                self.setToolTip(self._tooltip())

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
        outputs = self.output_count if self.has_output else 0
        rows = max(count, outputs)
        height = banded_height(rows) if self.banded else max(NODE_MIN_HEIGHT, (rows + 1) * PORT_SPACING)
        if count == self._input_count and height == self._height and not self._bounds.isNull():
            return False
        self.prepareGeometryChange()
        self._input_count, self._height = count, height
        self._bounds = QRectF(-PORT_HIT_RADIUS, -2.0, NODE_WIDTH + 2 * PORT_HIT_RADIUS,
                              height + 4.0)
        self._body_path, self._stripe_path, self._shape_path = node_paths(
            count, height, outputs, self.banded)
        self.update()
        return True

    def _update_texts(self) -> None:
        """The card's texts are fitted when next drawn: after an edit that changes 5,000 shapes
        only the cards on screen measure their texts (fitting them all took most of the edit)."""
        self._texts_stale = True
        if self._hovered:  # (not isUnderMouse(): asking Qt costs more than the rest of an update)
            self.setToolTip(self._tooltip())

    def _fit_texts(self) -> None:
        self._texts_stale = False
        f = canvas_fonts()
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

    def toolTip(self) -> str:  # noqa: N802 (Qt's name; Qt itself is given the text on hover)
        """The card's tooltip, made when asked: thousands of nodes never pay for theirs."""
        self._freshen()
        return self._tooltip()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._hovered = True
        self._freshen()  # its texts may wait for a view to show them
        self.setToolTip(self._tooltip())
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._hovered = False
        super().hoverLeaveEvent(event)

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
            prefix = "Error" if self._severity == Severity.ERROR else "Warning"
            lines += [f"{prefix}: {m}" for m in self._messages]
        if spec is not None and spec.help:
            lines += ["", spec.help]
        return "\n".join(lines)

    def set_port_shapes(self, inputs: list[str], outputs: list[str]) -> None:
        self._port_shapes = (list(inputs), list(outputs))

    def port_tooltip(self, hit: int) -> str:
        """``h_n: 2×64`` — a port's name and the shape it carries (hover on a port)."""
        self._freshen()
        spec, (inputs, outputs) = self._spec, self._port_shapes
        output = self.output_of(hit)
        if output is not None:
            name = spec.output_name(output) if spec is not None else "output"
            shape = outputs[output] if output < len(outputs) else ""
        else:
            name = spec.input_name(hit) if spec is not None else f"input port {hit}"
            shape = inputs[hit] if hit < len(inputs) else ""
        return f"{name}: {shape or 'not connected'}"

    def hoverMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        hit = self.port_at(event.pos())
        self.setToolTip(self._tooltip() if hit is None else self.port_tooltip(hit))
        super().hoverMoveEvent(event)

    # -- QGraphicsItem ------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape_path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        paint_node(self, painter, option.levelOfDetailFromTransform(painter.worldTransform()))

    def on_title(self, pos: QPointF) -> bool:
        """Whether ``pos`` (item coordinates) is on the title row (double-click renames)."""
        return TEXT_MARGIN <= pos.x() <= NODE_WIDTH - TEXT_MARGIN and 0 <= pos.y() <= TITLE_BOTTOM

    def port_names(self) -> tuple[list[str], list[str]]:
        """Names to print beside the ports: only for layers that name more than one."""
        spec = self._spec
        if spec is None:
            return [], []
        block = spec.category == BLOCK_CATEGORY  # a block's ports are its definition's named ends
        inputs = [p.name for p in spec.input_ports or ()] \
            if spec.input_ports and (block or len(spec.input_ports) > 1) else []
        outputs = [p.name for p in spec.outputs] if spec.multi_output or block else []
        return inputs, outputs

    def paths(self) -> tuple[QPainterPath, QPainterPath]:
        """The card's body and its category stripe."""
        return self._body_path, self._stripe_path

    def texts(self) -> tuple[str, str, bool, str, str]:
        """What the card prints: title, key parameters (and whether small), shape line, type."""
        self._freshen()  # (normally done already: a view freshens what it is about to draw)
        if self._texts_stale:
            self._fit_texts()
        return self._title, self._key_text, self._key_small, self._shape_line, self._type_text

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        Change = QGraphicsItem.GraphicsItemChange
        if change == Change.ItemPositionChange and not self._from_model:
            scene = self.scene()
            if scene is not None and getattr(scene, "snap_to_grid", False):
                return snap(value)
        elif change == Change.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        elif change == Change.ItemSelectedHasChanged:
            if not self._highlighted:
                self.setZValue(1 if value else 0)
        return super().itemChange(change, value)
