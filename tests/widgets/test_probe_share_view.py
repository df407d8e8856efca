"""The Training panel says what share of the time probes took, lets a person set the
budget, and says when training is starved of CPU (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory
from tests.qt_helpers import show_widget
from widgets.training_panel import TrainingPanel


def test_the_training_panel_shows_the_probe_share_of_a_real_run(qtbot, tmp_path: Path):
    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=4, probe_unit="steps")
    history = RunHistory()
    events: list[dict] = []
    Trainer(graph, load_dataset_for(graph, settings), settings, events.append, tmp_path / "run").run()
    # replay the live events up to (not including) the end, as the window sees a running run;
    # not its pace (on a busy machine the run may really have been starved)
    last = max(i for i, e in enumerate(events) if e["type"] == "probe" and e["kind"] == "probe_time")
    history.apply_all(e for e in events[:last + 1] if e["type"] != "pace")
    panel = show_widget(qtbot, TrainingPanel(), 380, 760)
    panel.set_history(history)
    share = history.probe_share
    assert share is not None and 0 < share < 1
    shown = re.search(r"probes (\d+\.\d) % of time", panel.progress_label.text())
    assert shown is not None, panel.progress_label.text()
    assert float(shown.group(1)) == round(100 * share, 1)
    assert not panel.starved_banner.isVisible()

    history.apply({"type": "pace", "step": history.step, "rate": 3.0, "best_rate": 40.0, "cpu": 0.2,
                   "threads": 2, "starved": True})
    panel.refresh()
    assert panel.starved_banner.isVisible()
    assert "starved" in panel.starved_banner.text() and "3.0 steps/s" in panel.starved_banner.text()
    history.apply({"type": "pace", "step": history.step, "rate": 39.0, "best_rate": 40.0, "cpu": 1.9,
                   "threads": 2, "starved": False})
    panel.refresh()
    assert not panel.starved_banner.isVisible()
    panel.grab().save(str(tmp_path / "training_panel.png"))


def test_the_probe_budget_is_a_training_setting(qtbot):
    panel = show_widget(qtbot, TrainingPanel(), 380, 760)
    panel.show_settings({"probe_budget": 2.5})
    assert panel.probe_budget.text() == "2.5"
    panel.probe_budget.setFocus()
    panel.probe_budget.selectAll()
    with qtbot.waitSignal(panel.settings_edited) as edited:
        QTest.keyClicks(panel.probe_budget, "10")
        QTest.keyClick(panel.probe_budget, Qt.Key.Key_Return)
    assert edited.args[0] == {"probe_budget": 10.0}
    assert settings_from_dict({"probe_budget": 10.0}).probe_budget == 10.0


def test_a_run_opened_from_its_folder_shows_the_share_its_probes_took(qtbot, tmp_path: Path):
    """The share is in metrics.jsonl (pace records): the Training panel and the runs table
    read it back for a finished run."""
    from graph_engine.experiments.records import run_row
    from widgets.runs_table import FIXED_COLUMNS, RunsTable

    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=4, probe_unit="steps")
    run_dir = tmp_path / "run"
    Trainer(graph, load_dataset_for(graph, settings), settings, None, run_dir).run()
    history = RunHistory.from_run_dir(run_dir)
    share = history.probe_share
    assert share is not None and 0 < share < 1
    panel = show_widget(qtbot, TrainingPanel(), 380, 760)
    panel.set_history(history)
    shown = re.search(r"probes (\d+\.\d) % of time", panel.progress_label.text())
    assert shown is not None, panel.progress_label.text()
    assert float(shown.group(1)) == round(100 * share, 1)
    table = show_widget(qtbot, RunsTable(), 900, 200)
    table.set_rows([run_row(run_dir)])
    assert table.table.item(0, FIXED_COLUMNS.index("probes")).text() == f"{100 * share:.1f} %"
    panel.grab().save(str(tmp_path / "opened_run_panel.png"))
    table.grab().save(str(tmp_path / "runs_table.png"))
