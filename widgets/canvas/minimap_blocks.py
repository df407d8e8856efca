"""The minimap's picture of a big graph: every card a block of its category's colour.

Drawn from the model's positions into a pixel array with numpy, not item by item through
QPainter: at 10,000 nodes asking every graphics item for its scene rectangle and filling
it took a quarter of a second of the window's time after each edit. At minimap scale a
card is a pixel or two, so every card is drawn at the standard card size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPixmap

from graph_engine.model import Graph
from graph_engine.registry import get_spec
from widgets.canvas.geometry import NODE_MIN_HEIGHT, NODE_WIDTH
from widgets.theme import CANVAS_BACKGROUND, category_color

#: scene units around the cards
PAD = 60.0


def _argb(color) -> int:
    return 0xFF000000 | (color.red() << 16) | (color.green() << 8) | color.blue()


def _type_colors(types: set[str]) -> dict[str, int]:
    colors = {}
    for type_name in types:
        spec = get_spec(type_name)
        colors[type_name] = _argb(category_color(spec.category if spec is not None else None))
    return colors


def block_picture(graph: Graph, width: int, height: int) -> tuple[QRectF, QPixmap]:
    """The scene rectangle shown and the ``width``×``height`` picture of it (aspect kept,
    centred, as the minimap maps clicks back)."""
    placed = [(node.position, node.type) for node in graph if node.position is not None]
    if not placed:
        return QRectF(), QPixmap()
    xy = np.array([position for position, _ in placed], dtype=np.float64)
    left, top = xy.min(axis=0) - PAD
    right, bottom = xy.max(axis=0) + (NODE_WIDTH + PAD, NODE_MIN_HEIGHT + PAD)
    source = QRectF(left, top, right - left, bottom - top)
    scale = min(width / source.width(), height / source.height())
    offset = np.array([(width - source.width() * scale) / 2, (height - source.height() * scale) / 2])
    pixels = np.floor((xy - (left, top)) * scale + offset).astype(np.int64)
    colors_of = _type_colors({type_name for _, type_name in placed})
    colors = np.array([colors_of[type_name] for _, type_name in placed], dtype=np.uint32)
    image = np.full((height, width), _argb(CANVAS_BACKGROUND), dtype=np.uint32)
    block_w, block_h = max(1, round(NODE_WIDTH * scale)), max(1, round(NODE_MIN_HEIGHT * scale))
    for dy in range(block_h):
        for dx in range(block_w):
            image[np.clip(pixels[:, 1] + dy, 0, height - 1), np.clip(pixels[:, 0] + dx, 0, width - 1)] = colors
    picture = QImage(image.data, width, height, width * 4, QImage.Format.Format_RGB32).copy()
    return source, QPixmap.fromImage(picture)


__all__ = ["block_picture"]
