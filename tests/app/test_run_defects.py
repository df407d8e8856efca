"""Issue 13's defects around runs, through the main window: another document starts with empty
run views (9); a refused start names no folder, leaves no empty runs/ and its red text goes
with the edit that fixes it (11); one "best" everywhere (13). A long export (16): see
test_export_jobs.py."""

from pathlib import Path

import pytest

from app.main_window import MainWindow
from graph_engine import load_template
from graph_engine.training.history import RunHistory
from widgets.curves.run_curves import RunCurves
from widgets.curves.runs_list import best_text


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    window = MainWindow(load_template("digits_cnn"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.close()


def finished_run(run_dir: Path) -> RunHistory:
    """Two epochs: the accuracy peaks at epoch 1, the validation loss is lowest at epoch 2."""
    run_dir.mkdir(parents=True, exist_ok=True)
    history = RunHistory(settings={"epochs": 2}, dataset="digits")
    history.apply({"type": "started", "run_dir": str(run_dir), "task": "classification", "dataset": "digits",
                   "device": "cpu", "steps_per_epoch": 10, "total_steps": 20})
    history.apply({"type": "epoch", "step": 10, "epoch": 1, "val": {"loss": 0.30, "accuracy": 0.967},
                   "best": True, "time": 1.0, "lr": 1e-3})
    history.apply({"type": "epoch", "step": 20, "epoch": 2, "val": {"loss": 0.25, "accuracy": 0.9694},
                   "best": True, "time": 2.0, "lr": 1e-3})
    history.epochs[0]["val"]["accuracy"] = 0.975  # a higher accuracy at a worse loss
    history.apply({"type": "finished", "status": "stopped", "message": "", "step": 20, "epoch": 2,
                   "metrics": {"loss": 0.25, "accuracy": 0.9694}, "best_epoch": 2})
    return history


def test_another_document_starts_with_empty_run_views(window, tmp_path):
    history = finished_run(tmp_path / "runs" / "r1")
    window.training._show(history, window.document.graph)
    window.workspace.panel.set_graph_changed(True)
    assert window.workspace.views["curves"].history is history
    window.new_document()
    assert window.training.history is None
    assert window.workspace.panel.progress_label.text().startswith("No run yet")
    assert window.workspace.views["curves"].history is None
    assert not window.workspace.panel.changed_banner.isVisible()


def test_a_refused_start_names_no_folder_and_its_red_text_goes_with_the_fix(window, tmp_path, monkeypatch):
    session = window.training.session
    monkeypatch.setattr(session, "start", lambda *a, **k: setattr(session, "process", object()))
    assert window.workspace.start()
    session.process = None
    window.training._events([{"type": "rejected", "message": "python-docs does not fit 'Digits CNN'"}])
    session.ended.emit()
    panel = window.workspace.panel
    assert panel.status_label.text().startswith("Not started")
    assert panel.run_label.text() == ""
    assert not (tmp_path / "runs").exists()
    window.controller.edit_training({"epochs": 3})
    assert panel.status_label.text() == "" and window.problems.diagnostics == []
    window.document.undo_stack.undo()
    assert panel.status_label.text() == ""


def test_one_best_result_in_the_panel_the_runs_list_and_the_run_file(window, tmp_path):
    history = finished_run(tmp_path / "runs" / "r1")
    window.training._show(history, window.document.graph)
    window.training.run_changed.emit(history)
    status = window.workspace.panel.status_label.text()
    assert "accuracy 96.9 % at epoch 2" in status, status
    assert best_text(RunCurves(history, 0.9)) == "accuracy 96.9 % at epoch 2"
