"""The look every pyqtgraph plot of the app shares: white plots, small grey axes, no menus.

One place, so the Curves, Activations and Health panels read as one tool.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

BACKGROUND = "#ffffff"
AXIS_COLOR = "#6b7280"
TEXT_COLOR = "#374151"
#: point size of tick labels and axis labels
FONT_POINTS = 8.0


def tick_font() -> QFont:
    font = QFont()
    font.setPointSizeF(FONT_POINTS)
    return font


def style_plot(plot: pg.PlotItem, left: str = "", bottom: str = "") -> None:
    """Small dark-grey axes and labels, no SI-prefix scaling, no context menu or auto button."""
    font = tick_font()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)  # "(x0.001)" scaled ticks read as wrong values
    label_style = {"color": TEXT_COLOR, "font-size": f"{FONT_POINTS:g}pt"}
    if left:
        plot.setLabel("left", left, **label_style)
    if bottom:
        plot.setLabel("bottom", bottom, **label_style)
    plot.hideButtons()
    plot.setMenuEnabled(False)
