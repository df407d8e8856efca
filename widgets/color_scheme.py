"""Following the system's light or dark palette (issue 13).

The canvas draws with the colours in :mod:`widgets.theme`; they are QColor objects that
every view shares, so a scheme is applied by changing them in place, and every item is asked
to repaint. Widgets (docks, panels) follow Qt's own palette, which already tracks the system.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from widgets import theme

#: the canvas's colours in each scheme (names in widgets.theme)
SCHEMES: dict[str, dict[str, str]] = {
    "light": {"BODY_COLOR": "#ffffff", "BORDER_COLOR": "#9ca3af", "TEXT_COLOR": "#111827",
              "MUTED_TEXT_COLOR": "#6b7280", "PORT_COLOR": "#4b5563", "PORT_FREE_COLOR": "#ffffff",
              "EDGE_COLOR": "#6b7280", "EDGE_LABEL_BACKGROUND": "#dcf3f4f6", "EDGE_LABEL_COLOR": "#374151",
              "CANVAS_BACKGROUND": "#f3f4f6", "GRID_COLOR": "#e7e9ec", "GRID_MAJOR_COLOR": "#d9dce1",
              "BAR_TRACK_COLOR": "#e5e7eb"},
    "dark": {"BODY_COLOR": "#1f2937", "BORDER_COLOR": "#4b5563", "TEXT_COLOR": "#f3f4f6",
             "MUTED_TEXT_COLOR": "#9ca3af", "PORT_COLOR": "#d1d5db", "PORT_FREE_COLOR": "#111827",
             "EDGE_COLOR": "#9ca3af", "EDGE_LABEL_BACKGROUND": "#dc111827", "EDGE_LABEL_COLOR": "#e5e7eb",
             "CANVAS_BACKGROUND": "#111827", "GRID_COLOR": "#1a2231", "GRID_MAJOR_COLOR": "#243042",
             "BAR_TRACK_COLOR": "#374151"},
}
#: a severity's card body in each scheme
SEVERITY_BODIES = {"light": ("#fef2f2", "#fffbeb"), "dark": ("#3b1d1d", "#3a2e12")}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    if scheme == Qt.ColorScheme.Unknown:  # no answer from the platform: look at the palette
        return QGuiApplication.palette().window().color().lightness() < 128
    return scheme == Qt.ColorScheme.Dark


def apply_scheme(dark: bool) -> str:
    """Set the canvas's colours for a dark or light scheme; returns its name."""
    name = "dark" if dark else "light"
    for key, value in SCHEMES[name].items():
        getattr(theme, key).setRgba(QColor(value).rgba())
    error_body, warning_body = SEVERITY_BODIES[name]
    theme.SEVERITY_BODY_COLORS[theme.Severity.ERROR].setRgba(QColor(error_body).rgba())
    theme.SEVERITY_BODY_COLORS[theme.Severity.WARNING].setRgba(QColor(warning_body).rgba())
    return name


def follow_system(slot: Callable[[object], None]) -> None:
    """Apply the system's scheme now, and call ``slot`` (a method of a QObject, disconnected
    when that object goes) whenever it changes: the slot calls :func:`apply_scheme` and repaints."""
    apply_scheme(system_is_dark())
    hints = QGuiApplication.styleHints()
    if hints is not None:
        hints.colorSchemeChanged.connect(slot)
