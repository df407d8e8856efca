"""``rosenblatt gui --screenshot --panel P --train-epochs N``: train in the app, then show P.

The run goes through the same child process, queue and views as a person's run; the
panels that need the trained model (patches, text, the feature maps of a chosen
node) are asked for it the way a click would, and the screenshot waits for them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QEventLoop, Qt

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

#: the longest a screenshot waits for a run or a view (seconds)
WAIT_S = 900.0


def _wait(app: "QApplication", done: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    return True


def _train(app: "QApplication", window: "MainWindow", epochs: int, dataset: str | None) -> str | None:
    controller = window.training
    ended: list[object] = []
    controller.run_ended.connect(ended.append)
    overrides: dict[str, object] = {"epochs": epochs}
    if dataset:
        overrides["dataset"] = dataset
    if not controller.start(overrides):
        problems = "; ".join(d.message for d in controller.problems) or "the run did not start"
        return problems
    if not _wait(app, lambda: bool(ended)):
        controller.shutdown(0)
        return "the run did not end in time"
    history = controller.history
    if history.status != "finished":
        return f"the run {history.status}: {history.message}"
    return None


def prepare_panel(app: "QApplication", window: "MainWindow", panel: str | None, epochs: int | None,
                  dataset: str | None) -> str | None:
    """Train (when asked), bring ``panel`` to the front and let it draw; a problem as text."""
    if epochs:
        problem = _train(app, window, epochs, dataset)
        if problem:
            return problem
    if not panel:
        return None
    window.present_dock(panel)
    app.processEvents()
    view = window.workspace.views[panel]
    window.training.refresh_views()
    if epochs and panel == "patches":
        return _show_patches(app, window, view)
    if epochs and panel == "text":
        return _show_text(app, window, view)
    app.processEvents()
    return None


def _show_patches(app: "QApplication", window: "MainWindow", view) -> str | None:
    from PySide6.QtTest import QTest

    nodes = [view.node_combo.itemData(i) for i in range(view.node_combo.count())]
    nodes = [n for n in nodes if n]
    if not nodes:
        return "no node of this graph has top patches to show"
    chosen = nodes[min(1, len(nodes) - 1)]  # the second convolution shows more than edges
    view.node_combo.setCurrentIndex(nodes.index(chosen))
    window.workspace.request_patches(chosen)
    if not _wait(app, lambda: view.top is not None and view.top.node_id == chosen, 300):
        return f"the top patches of {chosen} did not arrive"
    app.processEvents()
    QTest.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=view.grid.tile_rect(0, 0).center())
    if not _wait(app, lambda: bool(view.caption.text()), 120):
        return "the patch's detail did not arrive"
    return None


def _show_text(app: "QApplication", window: "MainWindow", view) -> str | None:
    if view.decode_box.isVisibleTo(view):  # an encoder–decoder: decode a validation sample
        view.decode_sample_button.click()
        if not _wait(app, lambda: view.decoded is not None, 300):
            return f"nothing was decoded: {view.decode_caption}"
        return None
    view.generate_button.click()
    if not _wait(app, lambda: bool(view.output.toPlainText()), 300):
        return "no text was generated"
    return None
