"""Earlier runs of a graph read off the GUI thread: damaged folders are listed as damaged,
and a damaged folder never stops later requests from being answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.document import Document
from app.training_controller import TrainingController
from graph_engine import load_template, save_graph

WAIT_MS = 10_000


def _step(step: int) -> dict:
    return {"type": "step", "step": step, "epoch": 1, "loss": 1.0, "lr": 0.001, "time": 0.1 * step}


def _run_folder(root: Path, name: str, graph, lines: list[str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    save_graph(graph, folder / "graph.json")
    (folder / "settings.json").write_text(json.dumps(graph.training), encoding="utf-8")
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


@pytest.fixture
def controller(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    controller = TrainingController(Document(load_template("digits_cnn")))
    yield controller
    controller.shutdown()


def _load(qtbot, controller) -> list:
    answers: list[list] = []
    controller.load_earlier_runs(answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)
    return answers[0]


def test_a_damaged_run_is_listed_as_damaged_and_later_requests_are_answered(qtbot, controller, tmp_path):
    graph = controller.document.graph
    without_epoch = {key: value for key, value in _step(2).items() if key != "epoch"}
    _run_folder(tmp_path, "good", graph, [json.dumps(_step(1)), json.dumps(_step(2))])
    _run_folder(tmp_path, "broken", graph, [json.dumps(_step(1)), json.dumps(without_epoch)])
    found = {history.run_dir.name: history for history in _load(qtbot, controller)}
    assert set(found) == {"good", "broken"}
    assert found["good"].damaged is None and len(found["good"].steps) == 2
    assert found["broken"].damaged == "metrics.jsonl line 2: a step record without 'epoch'"
    assert len(found["broken"].steps) == 1  # what could be read is still drawn
    # the worker is still there: the next request is answered too
    assert {history.run_dir.name for history in _load(qtbot, controller)} == {"good", "broken"}


def test_a_folder_that_cannot_be_replayed_at_all_is_listed_with_the_reason(qtbot, controller, tmp_path,
                                                                           monkeypatch):
    graph = controller.document.graph
    _run_folder(tmp_path, "good", graph, [json.dumps(_step(1))])
    _run_folder(tmp_path, "odd", graph, [json.dumps(_step(1))])
    from graph_engine.training.history import RunHistory

    original = RunHistory.from_run_dir.__func__

    def flaky(cls, run_dir):
        if Path(run_dir).name == "odd":
            raise KeyError("x")  # a programming error while replaying one folder
        return original(cls, run_dir)

    monkeypatch.setattr(RunHistory, "from_run_dir", classmethod(flaky))
    found = {history.run_dir.name: history for history in _load(qtbot, controller)}
    assert found["good"].damaged is None
    assert found["odd"].damaged == "cannot be read: KeyError: 'x'"
