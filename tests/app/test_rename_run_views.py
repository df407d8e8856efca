"""Issue 13: renaming a node (undoably) keeps the run's views on it.

A real short training run in the main window: conv1 is renamed to "features" by double-clicking
its title and typing, while the run goes on. The run's child still knows the node as conv1; the
views show it as "features" (activations, gradients, the Activations node list, the Patches node
list, the canvas overlay), clicking the node on the canvas watches it in the running child under
its old id, and the undo brings every view back to conv1. After the run, the checkpoint's feature
maps of the renamed node come back under its new name."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from graph_engine import load_template
from tests.qt_helpers import at, body_point
from tests.timing import deadline_ms

START_TIMEOUT_MS = deadline_ms(60_000)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    graph = load_template("digits_cnn")
    graph.set_training({**graph.training, "epochs": 3, "probe_every": 1, "probe_unit": "steps"})
    win = MainWindow(graph, autosave=False)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.view.fit()
    yield win
    win.training.shutdown(0)
    win.document.undo_stack.setClean()
    win.close()


def rename_by_title(window, node_id: str, new_id: str) -> None:
    view, item = window.view, window.scene.node_item(node_id)
    view.centerOn(item)
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(view, item.mapToScene(QPointF(30, 15))))
    edit = window.canvas_actions.title_editor.edit
    edit.selectAll()
    QTest.keyClicks(edit, new_id)
    QTest.keyClick(edit, Qt.Key.Key_Return)


def named(history) -> set[str]:
    """Every node id the history's probes and series use."""
    ids = set(history.activation_nodes) | set(history.gradients) | set(history.activation_series)
    for kind in ("activations", "feature_maps"):
        if kind in history.probes:
            ids |= set(history.probes[kind].data)
    if "filters" in history.probes:
        ids.add(history.probes["filters"].data["node"])
    return ids


@pytest.mark.slow
def test_the_run_views_follow_a_renamed_node_and_its_undo(qtbot, window):
    training, views = window.training, window.workspace.views
    qtbot.mouseClick(window.workspace.panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: training.history is not None and "conv1" in training.history.gradients,
                    timeout=START_TIMEOUT_MS)
    sent: list[dict] = []
    session_request = training.session.request
    training.session.request = lambda **changes: (sent.append(changes), session_request(**changes))

    window.workspace.set_overlay("gradient")  # bars of the gradient norm on the canvas
    assert window.scene.node_bar("conv1") is not None
    rename_by_title(window, "conv1", "features")
    assert "features" in window.document.graph and "conv1" not in window.document.graph
    # the same network under another name: not "changed since the run started"
    assert not training.graph_changed_since_start() and window.workspace.panel.changed_banner.isHidden()
    history = training.history
    assert "features" in named(history) and "conv1" not in named(history)
    steps = len(history.gradients["features"])
    # new probes from the child (which still says conv1) arrive under the new name
    qtbot.waitUntil(lambda: len(history.gradients["features"]) > steps, timeout=START_TIMEOUT_MS)
    assert "conv1" not in named(history)
    training.refresh_views()
    assert "features" in views["activations"].combo_nodes()
    assert "conv1" not in views["activations"].combo_nodes()
    assert window.scene.node_bar("features") is not None  # the canvas overlay stays on the node

    # clicking the node on the canvas watches it, and the child is asked by the id it knows
    for node_id in ("relu2", "features"):
        item = window.scene.node_item(node_id)
        window.view.centerOn(item)
        QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=at(window.view, body_point(item)))
        assert views["activations"].current_node == node_id
    assert {"watch_node": "conv1"} in sent

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the rename
    assert "conv1" in window.document.graph
    assert not training.graph_changed_since_start()
    assert "conv1" in named(history) and "features" not in named(history)
    assert views["activations"].current_node == "conv1"

    rename_by_title(window, "conv1", "features")  # and again, for after the run
    with qtbot.waitSignal(training.run_ended, timeout=START_TIMEOUT_MS):
        pass
    assert history.status == "finished", history.message
    patches = views["patches"].node_combo
    assert "features — Conv2d 32×8×8" in [patches.itemText(i) for i in range(patches.count())]
    assert patches.findData("features") >= 0 and patches.findData("conv1") < 0
    shown: list = []
    assert training.inspect(training.inspector.feature_maps, 0, [training.run_node("features")],
                            on_result=shown.append, on_error=shown.append)
    qtbot.waitUntil(lambda: bool(shown), timeout=START_TIMEOUT_MS)
    assert isinstance(shown[0], tuple) and "conv1" in shown[0][1]  # the checkpoint knows conv1
    assert views["activations"].current_node == "features"
    views["activations"].sample_spin.setValue(1)  # another sample: the checkpoint's maps, named "features"
    qtbot.waitUntil(lambda: views["activations"]._override is not None, timeout=START_TIMEOUT_MS)
    assert "features" in views["activations"]._override[1]
