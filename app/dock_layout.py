"""Where the main window's docks go: the default arrangement, bringing one forward, and
maximising one (double-click its title; again to restore).

The default layout is made before the window is first shown, so the docks never stand
side by side (seven run views in a row would make the window wider than a screen);
View → Reset layout goes back to it, and screenshots always use it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow

#: the window's size when nothing was remembered, if the screen has room for it
DEFAULT_SIZE = (1400, 900)
#: the share of the window's height the bottom docks (Problems and the run views) get
BOTTOM_SHARE = 0.38
#: the width of the left (palette) and right (inspector, training) columns
LEFT_WIDTH, RIGHT_WIDTH = 230, 360


def fit_to_screen(window: QMainWindow, width: int, height: int) -> None:
    """Resize to ``width``×``height``, or less where the screen's free area is smaller."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        frame = window.frameGeometry().size() - window.geometry().size()
        if not window.isVisible():  # the frame is unknown before the first show: allow for one
            frame.setWidth(max(frame.width(), 16))
            frame.setHeight(max(frame.height(), 48))
        width = min(width, free.width() - frame.width())
        height = min(height, free.height() - frame.height())
    window.resize(max(width, 200), max(height, 200))


def arrange_default(window: QMainWindow, docks: Mapping[str, QDockWidget], run_views: Sequence[str]) -> None:
    """Canvas first: the run views tabbed with Problems at the bottom, Training tabbed with
    the Inspector on the right, each column and the bottom row with room to read."""
    for dock in docks.values():
        dock.setFloating(False)
        dock.show()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["palette"])
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, docks["inspector"])
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks["problems"])
    window.tabifyDockWidget(docks["inspector"], docks["training"])
    previous = docks["problems"]
    for key in run_views:
        window.tabifyDockWidget(previous, docks[key])
        previous = docks[key]
    docks["problems"].raise_()
    docks["inspector"].raise_()
    # the window's minimum size was taken while the docks stood side by side: take it again
    window.setMinimumSize(0, 0)
    window.layout().activate()
    size_docks(window, docks)


def size_docks(window: QMainWindow, docks: Mapping[str, QDockWidget]) -> None:
    window.resizeDocks([docks["palette"], docks["inspector"]], [LEFT_WIDTH, RIGHT_WIDTH],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([docks["problems"]], [int(window.height() * BOTTOM_SHARE)], Qt.Orientation.Vertical)


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
        window.resizeDocks([docks["palette"], dock], [LEFT_WIDTH, int(window.width() * 0.27)],
                           Qt.Orientation.Horizontal)


class DockMaximizer(QObject):
    """Double-clicking a dock's title shows that dock alone, as large as the window allows;
    double-clicking it again (or maximising another) puts every dock back as it was."""

    def __init__(self, window: QMainWindow, docks: Mapping[str, QDockWidget]):
        super().__init__(window)
        self._window = window
        self._docks = docks
        self._saved: QByteArray | None = None
        self.maximized: QDockWidget | None = None
        for dock in docks.values():
            dock.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.MouseButtonDblClick and isinstance(watched, QDockWidget) \
                and not watched.isFloating() and event.position().y() <= _title_height(watched):
            self.toggle(watched)
            return True  # not Qt's default (floating the dock)
        return super().eventFilter(watched, event)

    def toggle(self, dock: QDockWidget) -> None:
        if self.maximized is not None:
            self.restore()
            return
        window = self._window
        self._saved = window.saveState()
        self.maximized = dock
        for other in self._docks.values():
            if other is not dock:
                other.hide()
        vertical = window.dockWidgetArea(dock) in (Qt.DockWidgetArea.TopDockWidgetArea,
                                                   Qt.DockWidgetArea.BottomDockWidgetArea)
        if vertical:
            window.resizeDocks([dock], [window.height()], Qt.Orientation.Vertical)
        else:
            window.resizeDocks([dock], [window.width()], Qt.Orientation.Horizontal)

    def restore(self) -> None:
        if self._saved is not None:
            self._window.restoreState(self._saved)
        self._saved = self.maximized = None


def _title_height(dock: QDockWidget) -> int:
    title = dock.titleBarWidget()
    if title is not None:
        return title.height()
    return dock.widget().geometry().top() if dock.widget() is not None else dock.height()
