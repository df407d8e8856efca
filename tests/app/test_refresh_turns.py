"""While a run goes on, the views are redrawn one per turn of the event loop, so that the
window answers between them (issue 18: no stall over 50 ms while training)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QRegion

from app.document import Document
from widgets.visibility import on_screen
from app.training_controller import TrainingController
from graph_engine.training.history import RunHistory


class _View:
    """A run view that records when it was redrawn (in the order of all views' redraws)."""

    def __init__(self, log: list[str], name: str, visible: bool = True, covered: bool = False):
        self.log, self.name, self.visible, self.covered = log, name, visible, covered

    def set_history(self, history) -> None:
        pass

    def refresh(self) -> None:
        self.log.append(self.name)

    def isVisible(self) -> bool:  # noqa: N802 (QWidget's name)
        return self.visible or self.covered

    def visibleRegion(self) -> QRegion:  # noqa: N802 (QWidget's name)
        return QRegion(0, 0, 10, 10) if self.visible else QRegion()


def _controller(qtbot) -> tuple[TrainingController, list[str]]:
    controller = TrainingController(Document())
    log: list[str] = []
    for name, visible, covered in (("curves", True, False), ("hidden", False, False), ("health", True, False),
                                   ("behind a tab", False, True), ("filters", True, False)):
        controller.add_view(_View(log, name, visible, covered))
    controller.history = RunHistory()
    controller.history.changed.add("gradients")
    controller.refresh_hooks.append(lambda: log.append("hooks"))
    return controller, log


def test_the_periodic_refresh_redraws_one_view_per_turn_then_the_hooks(qtbot):
    controller, log = _controller(qtbot)
    turns: list[list[str]] = []
    ticker = QTimer()  # an event of its own between each two of the controller's turns
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: turns.append(list(log)))
    ticker.start()
    controller._refresh_in_turns()
    assert log == ["curves"]  # the first view now, the others on later turns
    qtbot.waitUntil(lambda: "hooks" in log)
    ticker.stop()
    # a hidden view, or one covered by another dock's tab, is left for when it shows
    assert log == ["curves", "health", "filters", "hooks"]
    # the event loop ran between the views: some tick saw each partial state
    assert ["curves"] in turns and ["curves", "health"] in turns and ["curves", "health", "filters"] in turns


def test_refresh_views_still_redraws_every_visible_view_at_once(qtbot):
    controller, log = _controller(qtbot)
    controller.refresh_views()  # (at a run's end: covered views too, as before)
    assert log == ["curves", "health", "behind a tab", "filters", "hooks"]


def test_a_dock_behind_another_tab_is_not_on_screen(qtbot):
    """What Qt says of tabbed docks, which the periodic refresh relies on."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("canvas"))
    front, behind = QDockWidget("front"), QDockWidget("behind")
    for dock in (front, behind):
        dock.setWidget(QLabel(dock.windowTitle()))
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, behind)
    window.tabifyDockWidget(behind, front)
    window.resize(600, 400)
    window.show()
    front.raise_()
    qtbot.waitUntil(lambda: on_screen(front.widget()))
    assert behind.widget().isVisible() and not on_screen(behind.widget())
    behind.raise_()
    qtbot.waitUntil(lambda: on_screen(behind.widget()) and not on_screen(front.widget()))


def test_a_run_forgotten_midway_stops_the_turns(qtbot):
    controller, log = _controller(qtbot)
    controller._refresh_in_turns()
    controller.history = None
    qtbot.wait(50)
    assert log == ["curves"]


def test_in_the_window_a_view_behind_a_tab_waits_and_catches_up_when_its_tab_is_chosen(qtbot, tmp_path,
                                                                                         monkeypatch):
    """The real docks: while Curves is in front, the periodic refresh leaves Filters (behind its
    tab) alone; choosing the Filters tab redraws it at once."""
    from app.main_window import MainWindow
    from graph_engine import load_template

    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    window = MainWindow(load_template("digits_cnn"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    workspace, controller = window.workspace, window.training
    redrawn: list[str] = []
    for key in ("curves", "filters"):
        view = workspace.views[key]
        monkeypatch.setattr(view, "refresh", lambda key=key: redrawn.append(key))
    workspace.docks["curves"].raise_()
    qtbot.waitUntil(lambda: on_screen(workspace.views["curves"]) and not on_screen(workspace.views["filters"]))
    controller.history = RunHistory()
    controller._refresh_in_turns()
    qtbot.waitUntil(lambda: not controller._queued_views)
    assert "curves" in redrawn and "filters" not in redrawn
    workspace.docks["filters"].raise_()
    qtbot.waitUntil(lambda: "filters" in redrawn)  # caught up as its tab came to the front
    window.document.undo_stack.setClean()
    controller.history = None
