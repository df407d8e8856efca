"""The graph canvas: a QGraphicsScene that draws a Graph and emits intents, and its view.

``GraphScene(graph)`` builds its items from the graph and follows the graph's events;
gestures become intent signals for the app (it never mutates the graph). ``GraphView``
adds zoom, pan, rubber-band selection and fit.
"""

from widgets.canvas.items import (
    CATEGORY_COLORS, GRID_SIZE, NODE_MIN_HEIGHT, NODE_WIDTH, EdgeItem, NodeItem,
)
from widgets.canvas.scene import GraphScene
from widgets.canvas.view import GraphView
from widgets.drag_mime import LAYER_MIME_TYPE

__all__ = [
    "CATEGORY_COLORS", "EdgeItem", "GRID_SIZE", "GraphScene", "GraphView", "LAYER_MIME_TYPE",
    "NODE_MIN_HEIGHT", "NODE_WIDTH", "NodeItem",
]
