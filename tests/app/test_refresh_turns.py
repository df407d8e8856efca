"""While a run goes on, the views are redrawn one per turn of the event loop, so that the
window answers between them (issue 18: no stall over 50 ms while training)."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from app.document import Document
from app.training_controller import TrainingController
from graph_engine.training.history import RunHistory


class _View:
    """A run view that records when it was redrawn (in the order of all views' redraws)."""

    def __init__(self, log: list[str], name: str, visible: bool = True):
        self.log, self.name, self.visible = log, name, visible

    def set_history(self, history) -> None:
        pass

    def refresh(self) -> None:
        self.log.append(self.name)

    def isVisible(self) -> bool:  # noqa: N802 (QWidget's name)
        return self.visible


def _controller(qtbot) -> tuple[TrainingController, list[str]]:
    controller = TrainingController(Document())
    log: list[str] = []
    for name, visible in (("curves", True), ("hidden", False), ("health", True), ("filters", True)):
        controller.add_view(_View(log, name, visible))
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
    assert log == ["curves", "health", "filters", "hooks"]  # a hidden view is left for when it shows
    # the event loop ran between the views: some tick saw each partial state
    assert ["curves"] in turns and ["curves", "health"] in turns and ["curves", "health", "filters"] in turns


def test_refresh_views_still_redraws_every_visible_view_at_once(qtbot):
    controller, log = _controller(qtbot)
    controller.refresh_views()
    assert log == ["curves", "health", "filters", "hooks"]


def test_a_run_forgotten_midway_stops_the_turns(qtbot):
    controller, log = _controller(qtbot)
    controller._refresh_in_turns()
    controller.history = None
    qtbot.wait(50)
    assert log == ["curves"]
