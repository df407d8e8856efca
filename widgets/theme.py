"""The colours, text styles and fonts the widgets share.

Layer categories get their colours here, keyed by the registry's
:data:`graph_engine.registry.CATEGORIES`; severities by
:class:`graph_engine.validation.Severity`. A panel's private drawing colours (a
confusion matrix's bars, a patch's highlight) stay with the panel; anything two
views show alike lives here, so they cannot drift apart.
"""

from __future__ import annotations

import functools

from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette
from PySide6.QtWidgets import QLabel

from graph_engine.validation import Severity

# -- layer categories -------------------------------------------------------------------
#: one colour per registry category (the node's stripe and output port, on the canvas)
CATEGORY_COLORS: dict[str, QColor] = {
    "Input/Output": QColor("#475569"),
    "Convolution": QColor("#2563eb"),
    "Pooling": QColor("#0891b2"),
    "Dense": QColor("#7c3aed"),
    "Recurrent": QColor("#db2777"),
    "Attention": QColor("#9333ea"),
    "Merge / skip": QColor("#ea580c"),
    "Activation": QColor("#16a34a"),
    "Normalization & regularization": QColor("#a16207"),
    "Reshape": QColor("#64748b"),
    "Tensor ops": QColor("#0f766e"),
    "Block": QColor("#be123c"),  # a block use (graph_engine.block_face.BLOCK_CATEGORY)
}
#: an unknown layer type (no category)
UNKNOWN_COLOR = QColor("#9ca3af")


def category_color(category: str | None) -> QColor:
    """The colour of a layer category; :data:`UNKNOWN_COLOR` for None or an unknown one."""
    return CATEGORY_COLORS.get(category, UNKNOWN_COLOR) if category else UNKNOWN_COLOR


# -- severities (diagnostics on the canvas, health flags) -------------------------------
ERROR_COLOR = QColor("#dc2626")
WARNING_COLOR = QColor("#d97706")
#: a node's border and body for each diagnostic severity
SEVERITY_COLORS: dict[str, QColor] = {Severity.ERROR: ERROR_COLOR, Severity.WARNING: WARNING_COLOR}
SEVERITY_BODY_COLORS: dict[str, QColor] = {Severity.ERROR: QColor("#fef2f2"),
                                           Severity.WARNING: QColor("#fffbeb")}

# -- the canvas -------------------------------------------------------------------------
BODY_COLOR = QColor("#ffffff")
BORDER_COLOR = QColor("#9ca3af")
TEXT_COLOR = QColor("#111827")
MUTED_TEXT_COLOR = QColor("#6b7280")
SELECTION_COLOR = QColor("#2563eb")
HIGHLIGHT_COLOR = QColor("#c026d3")
PORT_COLOR = QColor("#4b5563")
PORT_FREE_COLOR = QColor("#ffffff")
DROP_HINT_COLOR = QColor("#2563eb")
EDGE_COLOR = QColor("#6b7280")
EDGE_LABEL_BACKGROUND = QColor(243, 244, 246, 220)
EDGE_LABEL_COLOR = QColor("#374151")
CANVAS_BACKGROUND = QColor("#f3f4f6")
GRID_COLOR = QColor("#e7e9ec")
GRID_MAJOR_COLOR = QColor("#d9dce1")
#: training marks on nodes: the "!" badge's outline and text, and the thin bar
BADGE_TEXT_COLOR = QColor("#ffffff")
BAR_TRACK_COLOR = QColor("#e5e7eb")
BAR_FILL_COLOR = QColor("#0d9488")
BAR_TEXT_COLOR = QColor("#0f766e")

# -- text in panels (style sheets) ------------------------------------------------------
#: a status line or note of secondary importance
MUTED_STYLE = "color: #5f6368;"
#: the text standing in for a picture that is not there yet
PLACEHOLDER_STYLE = "color: #6b7280;"
#: a failure's one-line message, or a field's refusal under it
ERROR_STYLE = "color: #c62828;"
#: the border of a field holding a value it refuses
INVALID_FIELD_STYLE = "border: 1px solid #d32f2f; border-radius: 2px; padding: 1px;"


def soften(label: QLabel) -> None:
    """Secondary text: the text colour blended towards the background (readable, unlike
    a disabled label)."""
    palette = label.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    mix = QColor.fromRgbF(*(0.65 * a + 0.35 * b
                            for a, b in zip(text.getRgbF()[:3], back.getRgbF()[:3])))
    palette.setColor(QPalette.ColorRole.WindowText, mix)
    label.setPalette(palette)


# -- fonts ------------------------------------------------------------------------------
class CanvasFonts:
    """The canvas's fonts (a node's title, body and small text) and their metrics."""

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
def canvas_fonts() -> CanvasFonts:
    """The canvas's fonts, made once (after the QGuiApplication exists)."""
    return CanvasFonts()
