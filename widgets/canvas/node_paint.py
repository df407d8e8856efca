"""How a node card is painted at each zoom.

- Readable zoom (level of detail ≥ ``TEXT_MIN_LOD``): title, type, key parameters, output
  shape, parameter count, port names.
- Zoomed out, while the card is still at least ``NAME_MIN_PIXELS`` wide on screen: its name
  alone, in a font scaled back up to stay legible (an imported ResNet-50 at fit zoom).
- Smaller still: no text; the card is filled with its category's colour, so the stages of a
  big network (convolutions, merges, dense layers) read as coloured runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPen

from widgets.canvas.geometry import NODE_WIDTH, PORT_RADIUS, TEXT_MARGIN, TEXT_MIN_LOD
from widgets.theme import DROP_HINT_COLOR, MUTED_TEXT_COLOR, PORT_COLOR, PORT_FREE_COLOR, TEXT_COLOR, canvas_fonts

if TYPE_CHECKING:
    from widgets.canvas.node_item import NodeItem

#: a zoomed-out card still shows its name while it is at least this wide on screen
NAME_MIN_PIXELS = 40.0
#: the name's height on screen when zoomed out (pixels)
NAME_PIXELS = 11.0
#: the bottom of the title row (a double-click above it renames)
TITLE_BOTTOM = 27.0

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTRE = Qt.AlignmentFlag.AlignCenter


def paint_node(item: "NodeItem", painter: QPainter, lod: float) -> None:
    width = 3.0 if item.highlighted else 2.0 if item.isSelected() or item.severity is not None else 1.0
    body, stripe = item.paths()
    readable = lod >= TEXT_MIN_LOD
    painter.setPen(QPen(item.border_color(), width))
    if readable or item.severity is not None:
        painter.setBrush(item.body_color())
    else:  # the overview: each card in its category's colour
        painter.setBrush(item.category_color().lighter(150))
    painter.drawPath(body)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(item.category_color())
    painter.drawPath(stripe)
    if readable:
        _paint_texts(item, painter)
    elif NODE_WIDTH * lod >= NAME_MIN_PIXELS:
        _paint_name(item, painter, lod)
    _paint_ports(item, painter)
    if readable and any(item.port_names()):
        _paint_port_names(item, painter)


def _paint_texts(item: "NodeItem", painter: QPainter) -> None:
    f = canvas_fonts()
    title, key, key_small, shape_line, type_text = item.texts()
    inner = NODE_WIDTH - 2 * TEXT_MARGIN
    top = QRectF(TEXT_MARGIN, 9, inner, 18)
    middle = QRectF(TEXT_MARGIN, 27, inner, 16)
    bottom = QRectF(TEXT_MARGIN, 43 if item.banded else item.height - 22, inner, 16)
    painter.setFont(f.title)
    painter.setPen(TEXT_COLOR)
    painter.drawText(top, _LEFT, title)
    painter.setFont(f.small if key_small else f.body)
    painter.drawText(middle, _LEFT, key)
    if shape_line:
        painter.setFont(f.body)
        painter.drawText(bottom, _LEFT, shape_line)
    painter.setFont(f.small)
    painter.setPen(MUTED_TEXT_COLOR)
    painter.drawText(top, _RIGHT, type_text)
    if item.params_label:
        painter.drawText(bottom, _RIGHT, item.params_label)


def _paint_name(item: "NodeItem", painter: QPainter, lod: float) -> None:
    """The node's name alone, NAME_PIXELS tall on screen (at most 60 % of the card)."""
    font = QFont(canvas_fonts().title)
    font.setPixelSize(max(1, round(min(NAME_PIXELS / lod, 0.6 * item.height))))
    metrics = QFontMetricsF(font)
    rect = QRectF(4, 0, NODE_WIDTH - 8, item.height)
    text = metrics.elidedText(item.title, Qt.TextElideMode.ElideRight, rect.width())
    painter.setFont(font)
    painter.setPen(TEXT_COLOR)
    painter.drawText(rect, _CENTRE, text)


def _paint_ports(item: "NodeItem", painter: QPainter) -> None:
    connected = item.connected_ports()
    drop = item.drop_port
    painter.setPen(QPen(PORT_COLOR, 1.2))
    for port in range(item.input_count):
        centre = item.input_port_pos(port)
        if port == drop:
            painter.setBrush(DROP_HINT_COLOR)
            painter.drawEllipse(centre, PORT_RADIUS + 2, PORT_RADIUS + 2)
            continue
        painter.setBrush(PORT_COLOR if port in connected else PORT_FREE_COLOR)
        painter.drawEllipse(centre, PORT_RADIUS, PORT_RADIUS)
    if item.has_output:
        painter.setBrush(item.category_color())
        for output in range(item.output_count):
            painter.drawEllipse(item.output_port_pos(output), PORT_RADIUS, PORT_RADIUS)


def _paint_port_names(item: "NodeItem", painter: QPainter) -> None:
    inputs, outputs = item.port_names()
    painter.setFont(canvas_fonts().small)
    painter.setPen(MUTED_TEXT_COLOR)
    half = NODE_WIDTH / 2 - PORT_RADIUS - 4
    for port, name in enumerate(inputs):
        y = item.input_port_pos(port).y()
        painter.drawText(QRectF(PORT_RADIUS + 4, y - 7, half, 14), _LEFT, name)
    for port, name in enumerate(outputs):
        y = item.output_port_pos(port).y()
        painter.drawText(QRectF(NODE_WIDTH / 2, y - 7, half, 14), _RIGHT, name)
