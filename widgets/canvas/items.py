"""Graphics items of the canvas: :class:`NodeItem` (one layer) and :class:`EdgeItem` (one edge).

Items draw state; they never touch the model. This module gathers what the scene,
the view and the overlays use from :mod:`widgets.canvas.node_item`,
:mod:`widgets.canvas.edge_item`, :mod:`widgets.canvas.geometry`,
:mod:`widgets.canvas.labels` and :mod:`widgets.theme`.
"""

from __future__ import annotations

from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.geometry import GRID_SIZE, NODE_MIN_HEIGHT, NODE_WIDTH, bezier_path
from widgets.canvas.labels import key_params_text, param_count_text
from widgets.canvas.node_item import NodeItem
from widgets.theme import (
    CATEGORY_COLORS, ERROR_COLOR, HIGHLIGHT_COLOR, SELECTION_COLOR, WARNING_COLOR,
)

__all__ = [
    "CATEGORY_COLORS", "EdgeItem", "ERROR_COLOR", "GRID_SIZE", "HIGHLIGHT_COLOR", "NODE_MIN_HEIGHT",
    "NODE_WIDTH", "NodeItem", "SELECTION_COLOR", "WARNING_COLOR", "bezier_path", "key_params_text",
    "param_count_text",
]
