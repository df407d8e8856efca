"""The sweep in the window: marking values to vary, the runs table, overlays named by what
differs, the Pareto front and parallel coordinates, and opening a trial from its point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.main_window import MainWindow
from graph_engine import load_template, save_graph
from graph_engine.experiments.records import write_trial
from graph_engine.experiments.spec import Objective, apply_values
from graph_engine.training.history import RunHistory
from graph_engine.training.settings import OPTIMIZERS

TRIALS = [  # (number, activation, hidden units, accuracy)
    (0, "ReLU", 128, 0.80), (1, "Tanh", 64, 0.90), (2, "Sigmoid", 32, 0.50), (3, "Tanh", 16, 0.70),
]


def _trial(root: Path, number: int, activation: str, units: int, accuracy: float) -> Path:
    graph = apply_values(load_template("mlp"), {"relu1.type": activation, "hidden1.out_features": units})
    folder = root / "runs" / f"t{number:03d}-relu1={activation}-hidden1.out_features={units}"
    folder.mkdir(parents=True)
    save_graph(graph, folder / "graph.json")
    (folder / "settings.json").write_text(json.dumps({"learning_rate": 1e-3, "epochs": 2}))
    (folder / "dataset.json").write_text(json.dumps({"task": "classification", "name": "digits"}))
    lines = [{"type": "step", "step": s, "epoch": 1 + s // 10, "loss": 2.0 / s, "lr": 1e-3, "time": 0.1 * s}
             for s in range(1, 21)]
    lines += [{"type": "epoch", "step": 10 * e, "epoch": e, "time": 1.0 * e, "best": True,
               "val": {"loss": 1.0 / e, "accuracy": accuracy - 0.1 * (2 - e)}} for e in (1, 2)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    params = 64 * units + units + units * 64 + 64 + 650
    write_trial(folder, {"study": "s", "number": number, "state": "complete", "params": params, "macs": params,
                         "values": {"relu1.type": activation, "hidden1.out_features": units},
                         "objectives": {"val.accuracy": accuracy, "params": params}})
    return folder


@pytest.fixture
def study(tmp_path):
    for trial in TRIALS:
        _trial(tmp_path, *trial)
    (tmp_path / "sweep.json").write_text(json.dumps({"study": "s", "objectives": ["val.accuracy:max", "params:min"],
                                                    "vary": []}))
    return tmp_path


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs-root"))
    window = MainWindow(load_template("mlp"), autosave=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    for other in getattr(window, "run_windows", []):
        other.close()
    window.training.shutdown()


def test_the_runs_table_lists_each_trial_with_its_varied_values_and_sorts(qtbot, window, study):
    window.sweeps.open_sweep(study)
    table = window.sweeps.table.table
    headers = [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]
    assert headers == ["run", "status", "best", "epoch", "params", "MACs", "steps/s", "wall time", "probes",
                       "relu1", "hidden1.out_features"]
    assert table.rowCount() == 4
    table.sortItems(2, Qt.SortOrder.DescendingOrder)
    assert [table.item(r, 9).text() for r in range(4)] == ["Tanh", "ReLU", "Tanh", "Sigmoid"]
    assert table.item(0, 2).text() == "0.9 accuracy" and table.item(0, 3).text() == "2"
    table.sortItems(10, Qt.SortOrder.AscendingOrder)
    assert [table.item(r, 10).text() for r in range(4)] == ["16", "32", "64", "128"]


def test_ticked_rows_are_overlaid_in_the_curves_and_named_by_what_differs(qtbot, window, study):
    window.sweeps.open_sweep(study)
    table = window.sweeps.table
    table.set_ticked([r.run_dir for r in table.rows[:3]])
    curves = window.workspace.views["curves"]
    assert len(curves.overlay_items) == 3
    labels = [curves.runs_list.difference(i) for i in range(3)]
    assert labels == ["relu1 ReLU, hidden1.out_features 128", "relu1 Tanh, hidden1.out_features 64",
                      "relu1 Sigmoid, hidden1.out_features 32"]
    # against a current run, the label says what differs in the graph
    curves.set_history(RunHistory.from_run_dir(table.rows[0].run_dir))
    curves.set_earlier_runs([RunHistory.from_run_dir(table.rows[1].run_dir)], checked=[table.rows[1].run_dir])
    assert curves.runs_list.difference(0) == "hidden1.out_features 128 → 64, relu1: ReLU → Tanh"


def test_the_pareto_front_fades_dominated_trials_and_a_click_opens_the_trial(qtbot, window, study):
    window.sweeps.open_sweep(study)
    pareto = window.sweeps.pareto
    assert [o.name for o in pareto.objectives] == ["val.accuracy", "params"]
    front = sorted(r.trial for r in pareto.front_rows)
    assert front == [1, 3]  # 0 and 2 are beaten by 1 on both
    assert len(pareto.dominated.points()) == 2
    run_dir = next(r.run_dir for r in pareto.rows if r.trial == 1)
    assert pareto.point_position(run_dir)[1] == 0.9  # x: params, y: accuracy
    point = next(p for p in pareto.front.points() if p.data() == str(run_dir))
    pareto.front.sigClicked.emit(pareto.front, [point], None)
    other = window.run_windows[-1]
    assert other.document.graph.node("relu1").type == "Tanh"
    assert other.training.history.run_dir == run_dir
    parallel = window.sweeps.parallel
    assert parallel.axes == ["relu1.type", "hidden1.out_features", "val.accuracy", "params"]
    assert len(parallel.lines) == 4


def test_vary_this_marks_a_value_and_a_bad_one_is_refused_in_one_line(qtbot, window, monkeypatch):
    window.inspector.show_node(window.document.graph.node("relu1"))
    asked = []
    window.inspector.vary_requested.connect(lambda node, key: asked.append((node, key)))
    action = window.inspector.info_labels["type"].actions()[0]
    assert action.text() == "Vary this…"
    monkeypatch.setattr("app.sweep_workspace.QInputDialog.getText",
                        lambda *args, text="", **kwargs: (text, True))
    action.trigger()
    assert asked == [("relu1", "type")]
    sweeps = window.sweeps
    assert sweeps.vary == ["relu1.type=ReLU,Tanh,Sigmoid,GELU"]
    assert sweeps.spec_panel.variations.count() == 1
    assert not sweeps.add_variation("relu1.type=Linear")
    assert "swap within a kind" in sweeps.spec_panel.message.text()
    assert sweeps.add_variation("training.learning_rate=log:1e-4:1e-1:3")
    assert sweeps.vary[-1] == "training.learning_rate=log:1e-4:0.1:3"
    sweeps.spec_panel.objectives.setCurrentText("accuracy")
    assert not sweeps.run_sweep()
    assert "use val.METRIC" in sweeps.spec_panel.message.text()


def test_objective_labels_show_their_direction():
    from widgets.pareto_view import objective_label

    assert objective_label(Objective("params", "min")) == "params ↓"


@pytest.mark.slow
def test_run_sweep_in_the_app_trains_every_variant_and_lists_it(qtbot, window):
    from tests.timing import deadline_ms

    sweeps = window.sweeps
    assert sweeps.add_variation("relu1.type=ReLU,Tanh")
    sweeps.spec_panel.epochs.setValue(1)
    sweeps.spec_panel.jobs.setValue(2)
    assert sweeps.run_sweep()
    assert sweeps.wait(deadline_ms(300_000))
    qtbot.waitUntil(lambda: not sweeps.timer.isActive(), timeout=deadline_ms(10_000))
    assert sweeps.spec_panel.message.text() == "Sweep finished."
    assert sorted(r.name for r in sweeps.rows) == ["t000-relu1=ReLU", "t001-relu1=Tanh"]
    assert all(r.status == "complete" and r.best_metric > 0.1 for r in sweeps.rows)
    assert (sweeps.folder / "study.db").exists() and (sweeps.folder / "graph.json").exists()


def test_vary_this_on_a_training_setting_suggests_its_choices(qtbot, window, monkeypatch):
    panel = window.workspace.panel
    label = panel.findChildren(type(window.sweeps.spec_panel.message))
    actions = [a for w in label for a in w.actions() if a.text() == "Vary this…"]
    assert len(actions) == 9
    monkeypatch.setattr("app.sweep_workspace.QInputDialog.getText",
                        lambda *args, text="", **kwargs: (text, True))
    asked = []
    panel.vary_requested.connect(lambda owner, key: asked.append((owner, key)))
    actions[0].trigger()
    assert asked == [("training", "optimizer")]
    assert window.sweeps.vary == [f"training.optimizer={','.join(OPTIMIZERS)}"]
    assert window.sweeps.suggestion("training", "batch_size") == "training.batch_size=32,64,128"
    assert window.sweeps.suggestion("training", "init") == "training.init=torch,kaiming_normal,xavier_normal,orthogonal"
