"""Training through the real main window: buttons, docks, problems, crashes, overlays."""

from __future__ import annotations

import os
import signal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from graph_engine import load_template
from tests.timing import deadline_ms

#: a training child needs a few seconds to start on a 2-core machine; stretched by the machine's
#: measured slowdown (tests/timing.py)
START_TIMEOUT_MS = deadline_ms(60_000)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    graph = load_template("digits_cnn")
    graph.set_training({**graph.training, "epochs": 2, "probe_every": 1, "probe_unit": "steps"})
    win = MainWindow(graph, autosave=False)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.training.shutdown(0)
    win.document.undo_stack.setClean()
    win.close()


def _finish(qtbot, win):
    with qtbot.waitSignal(win.training.run_ended, timeout=START_TIMEOUT_MS):
        pass
    return win.training.history


@pytest.mark.slow
def test_start_button_trains_and_every_view_gets_real_data(qtbot, window):
    panel = window.workspace.panel
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert window.training.running
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    history = _finish(qtbot, window)
    assert history.status == "finished", history.message
    window.training.refresh_views()
    assert panel.start_button.isEnabled()
    assert "epoch 2/2" in panel.progress_label.text()
    views = window.workspace.views
    curves = views["curves"]
    x, y = curves.raw_curve.getData()
    assert len(y) == len(history.steps)
    assert views["filters"].grab().width() > 0
    # the canvas shows a live overlay on the nodes the probes measured
    scene = window.scene
    assert scene is not None
    assert window.workspace.overlay == "dead"


def test_a_graph_with_errors_does_not_start_and_says_why(qtbot, window):
    flatten = next(n for n in window.document.graph if n.type == "Flatten")
    window.scene.select_ids([flatten.id])
    window.delete_selection()
    assert window.document.analysis.errors
    qtbot.mouseClick(window.workspace.panel.start_button, Qt.MouseButton.LeftButton)
    assert not window.training.running
    messages = [d.message for d in window.problems.diagnostics]
    assert any("valid graph" in m for m in messages)
    window.document.undo_stack.undo()  # the fix: the refusal no longer applies
    assert not window.document.analysis.errors
    assert not any("valid graph" in d.message for d in window.problems.diagnostics)


@pytest.mark.slow
def test_a_dataset_fit_error_blocks_the_start(qtbot, window):
    window.controller.edit_training({"dataset": "python-docs"})
    assert window.workspace.panel.dataset.currentText() == "python-docs"
    qtbot.mouseClick(window.workspace.panel.start_button, Qt.MouseButton.LeftButton)
    history = _finish(qtbot, window)
    assert history.status == "rejected"
    assert any("python-docs" in d.message for d in window.problems.diagnostics)
    assert "Not started" in window.workspace.panel.status_label.text()
    window.document.undo_stack.undo()
    assert window.workspace.panel.dataset.currentText() == "digits"


@pytest.mark.slow
def test_a_killed_training_process_is_reported_and_a_new_run_starts(qtbot, window):
    window.controller.edit_training({"epochs": 500})
    window.workspace.start()
    qtbot.waitUntil(lambda: window.training.history.step > 10, timeout=START_TIMEOUT_MS)
    os.kill(window.training.session.process.pid, signal.SIGKILL)
    history = _finish(qtbot, window)
    assert history.status == "crashed"
    panel = window.workspace.panel
    assert "SIGKILL" in panel.status_label.text()
    kept = len(history.steps)
    x, y = window.workspace.views["curves"].raw_curve.getData()
    assert len(y) == kept  # the curves so far stay
    assert panel.start_button.isEnabled()
    window.controller.edit_training({"epochs": 1})
    assert window.workspace.start()
    assert _finish(qtbot, window).status == "finished"


@pytest.mark.slow
def test_editing_during_a_run_shows_the_banner(qtbot, window):
    window.controller.edit_training({"epochs": 200})
    window.workspace.start()
    qtbot.waitUntil(lambda: window.training.history.step > 0, timeout=START_TIMEOUT_MS)
    assert window.workspace.panel.changed_banner.isHidden()
    old = window.document.graph.node("conv1").position
    window.controller.move_nodes({"conv1": (old, (400.0, 400.0))})  # a move leaves the network
    window.controller.edit_training({"epochs": 7})            # nor do the next run's settings
    assert window.workspace.panel.changed_banner.isHidden()
    window.controller.add_layer("ReLU", (10.0, 10.0))
    assert not window.workspace.panel.changed_banner.isHidden()
    qtbot.mouseClick(window.workspace.panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training.history.status == "paused", timeout=deadline_ms(10_000))
    window.training.refresh_views()
    assert window.workspace.panel.pause_button.text() == "Resume"
    qtbot.mouseClick(window.workspace.panel.stop_button, Qt.MouseButton.LeftButton)
    history = _finish(qtbot, window)
    assert "stopped" in history.message


@pytest.fixture(autouse=True)
def _no_leftover_children():
    yield
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(5)


@pytest.mark.slow
def test_a_run_folder_trained_elsewhere_opens_in_the_curves(qtbot, window, tmp_path, monkeypatch):
    from app.cli import main as cli

    run_dir = tmp_path / "headless"
    assert cli(["train", "--epochs", "1", "--out", str(run_dir)]) == 0
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getExistingDirectory", lambda *a, **k: str(run_dir))
    window.workspace.open_run_dialog()
    history = window.training.history
    assert history.run_dir == run_dir and history.status == "finished"
    x, y = window.workspace.views["curves"].raw_curve.getData()
    assert len(y) == len(history.steps) > 0
    assert window.workspace.panel.status_label.text().startswith("Finished all 1 epoch — best: validation")


@pytest.mark.slow
def test_start_waits_for_the_finished_process_and_patches_keep_the_runs_nodes(qtbot, window):
    panel = window.workspace.panel
    window.controller.edit_training({"epochs": 1})
    window.workspace.start()
    qtbot.waitUntil(lambda: window.training.history.status == "finished", timeout=START_TIMEOUT_MS)
    if window.training.running:  # its process is still exiting: Start must wait for that
        assert not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: not window.training.running, timeout=deadline_ms(20_000))
    assert panel.start_button.isEnabled()
    patches = window.workspace.views["patches"]
    offered = [patches.node_combo.itemData(i) for i in range(patches.node_combo.count())]
    assert "conv2" in offered
    window.scene.select_ids(["conv2"])
    window.delete_selection()
    offered = [patches.node_combo.itemData(i) for i in range(patches.node_combo.count())]
    assert "conv2" in offered  # the run's checkpoint has it, whatever the document says now


def test_float_fields_keep_exact_values_and_refuse_quietly(qtbot, window):
    panel = window.workspace.panel
    window.controller.edit_training({"learning_rate": 0.00012345678})
    clean = window.document.undo_stack.index()
    field = panel.learning_rate
    assert field.text() == "0.00012345678"
    field.setFocus()
    panel.grad_clip.setFocus()  # leaving an untouched field changes nothing
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "500")  # beyond the range: not acceptable
    panel.grad_clip.setFocus()
    assert window.document.undo_stack.index() == clean
    assert field.text() == "0.00012345678"
    assert window.document.graph.training["learning_rate"] == 0.00012345678


def test_spin_edits_apart_in_time_are_separate_undo_steps(qtbot, window, monkeypatch):
    import app.commands as commands

    clock = iter([100.0, 100.5, 110.0])
    monkeypatch.setattr(commands.time, "monotonic", lambda: next(clock))
    stack = window.document.undo_stack
    start = stack.index()
    window.controller.edit_training({"batch_size": 65}, continuing=True)
    window.controller.edit_training({"batch_size": 66}, continuing=True)   # a step later: merged
    window.controller.edit_training({"batch_size": 70}, continuing=True)   # ten seconds later
    assert stack.index() == start + 2
    stack.undo()
    assert window.document.graph.training["batch_size"] == 66


@pytest.mark.slow
def test_screenshot_command_trains_then_renders_the_patches_panel(qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage

    from app.gui import run_gui

    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    target = tmp_path / "patches.png"
    assert run_gui(None, str(target), (1200, 800), panel="patches", train_epochs=1) == 0
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1200, 800)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "checkpoints" / "last.safetensors").exists()
