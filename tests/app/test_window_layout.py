"""Issue 13, defects 2 and 3 and the docks: the window fits the screen, screenshots keep their
size and the default layout, View → Reset layout, a dock maximised by double-clicking its
title, and a Training panel whose buttons are never cut off."""

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication

from app import gui
from app.main_window import MainWindow
from app.run_workspace import RUN_VIEWS
from graph_engine import load_template


def _window(qtbot, size=None, autosave=False):
    window = MainWindow(load_template("digits_cnn"), autosave=autosave)
    if size:
        window.resize(*size)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _close(window):
    window.document.undo_stack.setClean()
    window.persistent = False
    window.close()


def test_first_start_fits_the_screen_and_a_1280x800_screen(qtbot):
    window = _window(qtbot)
    free = window.screen().availableGeometry()
    assert window.frameGeometry().width() <= free.width() and window.height() <= free.height()
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800
    window.resize(1280, 800)
    QApplication.processEvents()
    assert window.size().toTuple() == (1280, 800)
    _close(window)


def _side_by_side_state(qtbot) -> None:
    """Remember a layout with every run view beside the others (as a person could leave it)."""
    window = _window(qtbot)
    for key, _title in RUN_VIEWS:
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window._docks[key])
    QSettings("Rosenblatt", "Rosenblatt").setValue("window_state", window.saveState())
    _close(window)


def test_a_screenshot_has_the_size_asked_for_whatever_layout_was_saved(qtbot, tmp_path):
    _side_by_side_state(qtbot)
    out = tmp_path / "shot.png"
    try:
        assert gui.run_gui(None, str(out), (1600, 1000)) == 0
    finally:
        QSettings("Rosenblatt", "Rosenblatt").remove("window_state")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)


def test_reset_layout_tabs_the_run_views_again(qtbot):
    window = _window(qtbot, (1280, 800))
    docks = window._docks
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks["curves"])
    docks["palette"].hide()
    assert not window.tabifiedDockWidgets(docks["curves"])
    reset = next(a for a in window.menuBar().actions()[2].menu().actions() if a.text() == "&Reset layout")
    reset.trigger()
    assert docks["curves"] in window.tabifiedDockWidgets(docks["problems"])
    assert docks["palette"].isVisible()
    _close(window)


def test_a_run_view_in_front_has_a_usable_height_and_maximises(qtbot):
    window = _window(qtbot, (1280, 800))
    curves = window._docks["curves"]
    curves.raise_()
    QApplication.processEvents()
    assert curves.height() >= 0.3 * window.height()
    QTest.mouseDClick(curves, Qt.MouseButton.LeftButton, pos=QPoint(30, 6))
    QApplication.processEvents()
    assert not window._docks["inspector"].isVisible() and not curves.isFloating()
    assert curves.height() >= 0.7 * window.height()
    QTest.mouseDClick(curves, Qt.MouseButton.LeftButton, pos=QPoint(30, 6))
    QApplication.processEvents()
    assert window._docks["inspector"].isVisible()
    assert curves.height() < 0.6 * window.height()
    _close(window)


def test_the_training_panel_shows_all_of_its_buttons(qtbot):
    window = _window(qtbot, (1280, 800))
    window._docks["training"].raise_()
    QApplication.processEvents()
    panel = window.workspace.panel
    buttons = [b for b in panel.findChildren(QAbstractButton) if b.isVisible()]
    assert {panel.stop_button, panel.open_data, panel.start_button} <= set(buttons)
    for button in buttons:
        assert button.visibleRegion().boundingRect() == button.rect(), button.text()
    _close(window)
