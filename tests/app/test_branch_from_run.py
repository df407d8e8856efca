"""Branch from this run, through the real window: the Training menu and an earlier run's context
menu open the run's graph as a new document that starts from its weights; the Training panel
shows and clears that; the branch's curves say where it started."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from tests.timing import deadline_ms

START_TIMEOUT_MS = deadline_ms(60_000)


@pytest.fixture
def parent_run(tmp_path):
    """A finished one-epoch run of the MLP in the window's runs folder."""
    graph = load_template("mlp")
    graph.set_training({**graph.training, "epochs": 1, "probe_every": 0})
    settings = settings_from_dict(graph.training)
    run_dir = tmp_path / "runs" / "parent"
    result = Trainer(graph, load_dataset_for(graph, settings), settings, run_dir=run_dir, probes=False).run()
    assert result.status == "completed"
    return run_dir


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, parent_run):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(load_template("mlp"), autosave=False)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.training.shutdown(0)
    win.document.undo_stack.setClean()
    win.close()


def _menu_action(win, menu_title: str, text: str):
    menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == menu_title)
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_branch_from_the_shown_run_opens_its_graph_starting_from_its_weights(qtbot, window, parent_run):
    branch = _menu_action(window, "Training", "Branch from this run")
    assert not branch.isEnabled()  # no finished run shown yet
    window.workspace.open_run(str(parent_run))
    assert branch.isEnabled()
    branch.trigger()
    document = window.document
    assert document.path is None and document.graph.name == "MLP"
    assert document.graph.training["init_from"] == str(parent_run.resolve())
    panel = window.workspace.panel
    assert panel.init_from.text() == "parent"
    assert panel.clear_init_from.isEnabled()
    qtbot.mouseClick(panel.clear_init_from, Qt.MouseButton.LeftButton)
    assert document.graph.training["init_from"] == ""
    assert panel.init_from.text() == "fresh weights" and not panel.clear_init_from.isEnabled()
    document.undo_stack.undo()  # clearing is one undoable edit
    assert document.graph.training["init_from"] == str(parent_run.resolve())


def test_an_earlier_runs_context_menu_branches_and_the_curves_mark_where(qtbot, window, parent_run):
    curves = window.workspace.views["curves"]
    qtbot.waitUntil(lambda: curves.runs_list.topLevelItemCount() == 1, timeout=START_TIMEOUT_MS)
    action = curves.runs_list.menu_for_row(0).actions()[0]
    assert action.text() == "Branch from this run" and action.isEnabled()
    action.trigger()
    assert window.document.graph.training["init_from"] == str(parent_run.resolve())


@pytest.mark.slow
def test_a_branched_training_starts_from_the_parent_and_the_curves_say_so(qtbot, window, parent_run, tmp_path):
    window.branch_from_run(parent_run)
    with qtbot.waitSignal(window.training.run_ended, timeout=START_TIMEOUT_MS):
        qtbot.mouseClick(window.workspace.panel.start_button, Qt.MouseButton.LeftButton)
    history = window.training.history
    assert history.status == "finished", history.message
    assert history.branch is not None and history.branch["text"] == "carried 6 tensors"
    curves = window.workspace.views["curves"]
    qtbot.waitUntil(lambda: curves.branch_mark.parent_shown, timeout=START_TIMEOUT_MS)
    assert curves.branch_mark.text == "from parent at epoch 1"
    x, _ = curves.branch_mark.parent_loss.getData()
    assert len(x) and x.max() <= 0  # the parent's curve leads into the branch at x = 0
    curves.grab().save(str(tmp_path / "branch_curves.png"))
