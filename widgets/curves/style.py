"""Colours and pens of the curves panel, in the app's light palette.

Pens are 1 px, solid and opaque: pyqtgraph's fast drawing path (see design notes).
The raw loss is a pale tint of the smoothed loss's blue, so the trend reads first.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from widgets.plot_style import AXIS_COLOR as AXIS, BACKGROUND, TEXT_COLOR as TEXT  # noqa: F401 (re-exported)

MUTED_TEXT = "#6b7280"

RAW_LOSS = "#a9c2f0"
SMOOTH_LOSS = "#2563eb"
VAL_LOSS = "#ea580c"
METRIC = "#16a34a"
LR = "#7c3aed"
#: scheduled sampling: the probability of feeding the decoder the true previous token
TEACHER_FORCING = "#0d9488"
BEST = "#b45309"
HOVER_LINE = "#9ca3af"

#: colours of overlaid earlier runs, in order; chosen away from the current run's hues
EARLIER_RUN_COLORS = ("#db2777", "#0891b2", "#475569", "#a16207", "#65a30d", "#9333ea",
                      "#e11d48", "#0f766e")


def pen(color: str) -> pg.QtGui.QPen:
    """A 1-px cosmetic solid pen (the fast path)."""
    return pg.mkPen(QColor(color), width=1)


def dashed_pen(color: str) -> pg.QtGui.QPen:
    """For single straight lines only (markers), never for long curves."""
    return pg.mkPen(QColor(color), width=1, style=Qt.PenStyle.DashLine)


def earlier_run_color(index: int) -> str:
    return EARLIER_RUN_COLORS[index % len(EARLIER_RUN_COLORS)]
