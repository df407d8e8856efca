"""The canvas follows the system's light or dark palette (issue 13)."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from graph_engine import load_template
from widgets import theme
from widgets.color_scheme import apply_scheme


def _background_lightness(window) -> int:
    image = window.view.viewport().grab().toImage()
    return image.pixelColor(5, 5).lightness()


def test_the_canvas_turns_dark_with_the_system_and_back(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    hints = QGuiApplication.styleHints()
    light = QApplication.palette()
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    try:
        # the offscreen platform has no scheme of its own: the palette says it, and the
        # style hints' signal is what the system sends
        QApplication.setPalette(dark)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Unknown)
        QApplication.processEvents()
        assert theme.CANVAS_BACKGROUND.lightness() < 60
        assert _background_lightness(window) < 60
        assert theme.TEXT_COLOR.lightness() > 200 and theme.BODY_COLOR.lightness() < 80
        QApplication.setPalette(light)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Unknown)
        QApplication.processEvents()
        assert _background_lightness(window) > 200
    finally:
        QApplication.setPalette(light)
        apply_scheme(False)
        window.document.undo_stack.setClean()
        window.close()
