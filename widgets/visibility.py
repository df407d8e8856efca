"""Whether a widget can be seen now, which Qt's ``isVisible`` does not say for docks."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def on_screen(widget: QWidget) -> bool:
    """Whether any of ``widget`` is on screen. A dock behind another dock's tab is still
    "visible" to Qt (``isVisible``), only covered: views that redraw or recompute only for the
    eye ask this, and catch up when their tab is chosen (``QDockWidget.visibilityChanged``)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()
