"""Where the main window's docks go: the first-start arrangement and bringing one forward."""

from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow


def arrange_first_start(window: QMainWindow, docks: Mapping[str, QDockWidget], run_views: Sequence[str]) -> None:
    """Canvas first: run views tabbed with Problems, Training with the Inspector."""
    window.tabifyDockWidget(docks["inspector"], docks["training"])
    previous = docks["problems"]
    for key in run_views:
        window.tabifyDockWidget(previous, docks[key])
        previous = docks[key]
    docks["problems"].raise_()
    docks["inspector"].raise_()
    window.resizeDocks([docks["palette"], docks["inspector"]], [230, 340], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["problems"]], [300], Qt.Orientation.Vertical)


def present_dock(window: QMainWindow, docks: Mapping[str, QDockWidget], key: str) -> None:
    """Show ``docks[key]`` in front, docked, with room to read it."""
    dock = docks[key]
    dock.show()
    dock.raise_()
    if dock.isFloating():
        dock.setFloating(False)
    if window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
        window.resizeDocks([dock], [int(window.height() * 0.5)], Qt.Orientation.Vertical)
    else:
        window.resizeDocks([docks["palette"], dock], [230, int(window.width() * 0.27)], Qt.Orientation.Horizontal)
