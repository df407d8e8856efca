"""Edges that go around nodes: a long edge (a skip connection, the step from one wrapped band
to the next, an edge drawn backwards) whose curve would pass behind a node is routed
through a free horizontal lane instead — out of its port, along the lane, into the port —
with rounded corners.

The scene asks for routes after the items have moved (once per event-loop turn, so a layout
that moves every node routes each edge once, against the final positions).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from widgets.canvas.geometry import bezier_path

#: how far from a port the route turns towards its lane
TURN = 35.0
#: half the height of a lane that must be free of nodes
LANE_HALF = 12.0
#: lanes are tried this far apart, nearest first, up to MAX_LANES each way
LANE_STEP = 37.5
MAX_LANES = 48
#: the corners' radius
RADIUS = 12.0
#: a scene with more edges than this draws them all as plain curves (routing costs a few ms an edge)
ROUTE_UP_TO_EDGES = 5_000


def needs_route(start: QPointF, end: QPointF) -> bool:
    """Whether an edge may pass other nodes: it spans more than one column, or runs backwards."""
    span = end.x() - start.x()
    return span > 200.0 or span < 20.0


def route(start: QPointF, end: QPointF, blocked: Callable[[QRectF], bool]) -> QPainterPath | None:
    """A path from ``start`` to ``end`` that no node blocks, or None when the plain curve is
    free (or no lane is)."""
    if end.x() - start.x() >= 20.0 and not _curve_blocked(start, end, blocked):
        return None
    a, b = start.x() + TURN, end.x() - TURN
    y1, y2 = start.y(), end.y()
    for lane in _lanes(y1, y2):
        left, right = min(a, b), max(a, b)
        if blocked(QRectF(left, lane - LANE_HALF, right - left, 2 * LANE_HALF)):
            continue
        if blocked(_vertical(a, y1, lane)) or blocked(_vertical(b, lane, y2)):
            continue
        return rounded([start, QPointF(a, y1), QPointF(a, lane), QPointF(b, lane), QPointF(b, y2), end])
    return None


def _lanes(y1: float, y2: float):
    seen = set()
    for base in (y1, y2, (y1 + y2) / 2):
        for k in range(MAX_LANES + 1):
            for lane in ((base + k * LANE_STEP, base - k * LANE_STEP) if k else (base,)):
                key = round(lane)
                if key not in seen:
                    seen.add(key)
                    yield lane


def _vertical(x: float, y_from: float, y_to: float) -> QRectF:
    top, bottom = min(y_from, y_to), max(y_from, y_to)
    return QRectF(x - 4.0, top + 14.0, 8.0, max(0.0, bottom - top - 28.0))


def _curve_blocked(start: QPointF, end: QPointF, blocked: Callable[[QRectF], bool]) -> bool:
    path = bezier_path(start, end)
    steps = max(10, min(400, int(path.length() / 30)))  # a look every 30 px along the curve
    for i in range(1, steps):
        point = path.pointAtPercent(i / steps)
        if blocked(QRectF(point.x() - 3, point.y() - 3, 6, 6)):
            return True
    return False


def rounded(points: list[QPointF], radius: float = RADIUS) -> QPainterPath:
    """A polyline through ``points`` with its corners rounded."""
    path = QPainterPath(points[0])
    for previous, corner, after in zip(points, points[1:], points[2:]):
        into, out = corner - previous, after - corner
        length_in = max(1e-9, (into.x() ** 2 + into.y() ** 2) ** 0.5)
        length_out = max(1e-9, (out.x() ** 2 + out.y() ** 2) ** 0.5)
        r = min(radius, length_in / 2, length_out / 2)
        path.lineTo(corner - into * (r / length_in))
        path.quadTo(corner, corner + out * (r / length_out))
    path.lineTo(points[-1])
    return path
