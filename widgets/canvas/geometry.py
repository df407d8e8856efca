"""Sizes and shapes of the canvas: node cards, port positions, edge curves, the grid."""

from __future__ import annotations

import functools

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QStyleOptionGraphicsItem

NODE_WIDTH = 170.0
#: half the side of the scene's fixed square: a scene without a fixed rectangle asks every
#: item for its bounds after each change (10,000 cards: a tenth of a second per edit)
SCENE_EXTENT = 1_000_000.0
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


def shows_texts(view) -> bool:
    """Whether ``view`` (a QGraphicsView) is zoomed in far enough for cards and labels to draw
    their texts (the level of detail their paint methods compare with TEXT_MIN_LOD)."""
    return QStyleOptionGraphicsItem.levelOfDetailFromTransform(view.transform()) >= TEXT_MIN_LOD


#: the shape label sits this far above the curve's midpoint (centre to centre)
EDGE_LABEL_RAISE = 9.0


def snap(point: QPointF) -> QPointF:
    """``point`` moved to the nearest grid crossing."""
    return QPointF(round(point.x() / GRID_SIZE) * GRID_SIZE, round(point.y() / GRID_SIZE) * GRID_SIZE)


def curve_points(start: QPointF, end: QPointF) -> tuple[QPointF, QPointF]:
    """Control points of the edge curve from ``start`` (output port) to ``end`` (input port).

    Tangents are horizontal. (A long edge that would pass behind nodes is routed around
    them by :mod:`widgets.canvas.routing`.)
    """
    span = end.x() - start.x()
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


#: cards whose ports have names put them in a band below the three text rows
PORT_BAND_TOP = 58.0


def port_y(port: int, count: int, height: float, banded: bool = False) -> float:
    """The y of ``port`` of ``count`` on a card ``height`` tall: centred and evenly spaced,
    or one per row in the port band of a card with named ports."""
    if banded:
        return PORT_BAND_TOP + (port + 0.5) * PORT_SPACING
    return height / 2 + (port - (count - 1) / 2) * PORT_SPACING


def banded_height(rows: int) -> float:
    """Height of a card with named ports: text rows, then one row per port."""
    return PORT_BAND_TOP + rows * PORT_SPACING + 6.0


@functools.lru_cache(maxsize=64)
def node_paths(count: int, height: float, outputs: int, banded: bool = False
               ) -> tuple[QPainterPath, QPainterPath, QPainterPath]:
    """Body, category stripe and hit shape of a node card (shared; never mutated)."""
    body = QPainterPath()
    body.addRoundedRect(QRectF(0, 0, NODE_WIDTH, height), NODE_RADIUS, NODE_RADIUS)
    top = QPainterPath()
    top.addRect(QRectF(0, 0, NODE_WIDTH, STRIPE_HEIGHT))
    stripe = body.intersected(top)
    shape = QPainterPath(body)
    centres = [QPointF(0.0, port_y(p, count, height, banded)) for p in range(count)]
    centres += [QPointF(NODE_WIDTH, port_y(p, outputs, height, banded)) for p in range(outputs)]
    for centre in centres:
        shape.addEllipse(centre, PORT_HIT_RADIUS, PORT_HIT_RADIUS)
    shape.setFillRule(Qt.FillRule.WindingFill)
    return body, stripe, shape


def dist2(a: QPointF, b: QPointF) -> float:
    """Squared distance between two points."""
    dx, dy = a.x() - b.x(), a.y() - b.y()
    return dx * dx + dy * dy
