"""The training child process seen from the GUI: events, pause/stop, crashes, refusals."""

from __future__ import annotations

import os
import signal

import pytest

from app.document import Document
from app.training_controller import TrainingController
from app.training_session import TrainingSession
from graph_engine import Node, load_template
from graph_engine.training.history import RunHistory

#: a child process needs a few seconds to import torch and load the data on a 2-core machine
START_TIMEOUT_MS = 60_000


def _session(qtbot):
    session = TrainingSession()
    history = RunHistory()
    session.events_arrived.connect(history.apply_all)
    return session, history


def test_a_run_streams_events_into_the_history_and_ends(qtbot, tmp_path):
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    with qtbot.waitSignal(session.ended, timeout=START_TIMEOUT_MS):
        session.start(graph, {**graph.training, "epochs": 2, "probe_every": 1, "probe_unit": "steps"},
                      tmp_path / "run")
    assert history.status == "finished", history.message
    assert len(history.steps) == history.total_steps == 2 * history.steps_per_epoch
    assert [e["epoch"] for e in history.epochs] == [1, 2]
    assert {"gradients", "activations", "feature_maps", "filters", "confusion"} <= set(history.probes)
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").exists()
    assert not session.running


def test_pause_resume_and_stop_act_within_a_step(qtbot, tmp_path):
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    session.start(graph, {**graph.training, "epochs": 500}, tmp_path / "run")
    qtbot.waitUntil(lambda: len(history.steps) > 0, timeout=START_TIMEOUT_MS)
    session.pause()
    qtbot.waitUntil(lambda: history.status == "paused", timeout=10_000)
    paused_at = history.step
    qtbot.wait(400)
    assert history.step <= paused_at + 1  # the step in flight may finish; no more
    session.resume()
    qtbot.waitUntil(lambda: history.status == "running" and history.step > paused_at + 1, timeout=10_000)
    with qtbot.waitSignal(session.ended, timeout=20_000):
        session.stop()
    assert history.status == "finished"
    assert "stopped by request" in history.message
    assert history.step < history.total_steps


def test_a_killed_child_is_reported_and_a_new_run_starts(qtbot, tmp_path):
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    session.start(graph, {**graph.training, "epochs": 500}, tmp_path / "run")
    qtbot.waitUntil(lambda: len(history.steps) > 20, timeout=START_TIMEOUT_MS)
    with qtbot.waitSignal(session.ended, timeout=20_000):
        os.kill(session.process.pid, signal.SIGKILL)
    assert history.status == "crashed"
    assert "SIGKILL" in history.message
    kept = len(history.steps)
    assert kept > 20  # the curves so far are intact
    second = RunHistory()
    session.events_arrived.disconnect()
    session.events_arrived.connect(second.apply_all)
    with qtbot.waitSignal(session.ended, timeout=START_TIMEOUT_MS):
        session.start(graph, {**graph.training, "epochs": 1}, tmp_path / "run2")
    assert second.status == "finished"
    assert len(history.steps) == kept


def test_the_controller_refuses_a_graph_with_errors(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    graph = load_template("mlp")
    flatten = next(n for n in graph if n.type == "Flatten")
    for edge in [e for e in graph.edges if flatten.id in (e.source, e.target)]:
        graph.remove_edge(edge)
    document = Document(graph)
    controller = TrainingController(document)
    assert not controller.start()
    assert not controller.running
    assert controller.problems and "valid graph" in controller.problems[0].message
    assert not any(tmp_path.iterdir())


def test_a_dataset_that_does_not_fit_is_rejected_before_any_step(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    graph = load_template("digits_cnn")
    graph.training = {**graph.training, "dataset": "python-docs"}  # text for an image classifier
    controller = TrainingController(Document(graph))
    shown = []
    controller.problems_changed.connect(shown.append)
    with qtbot.waitSignal(controller.run_ended, timeout=START_TIMEOUT_MS):
        assert controller.start()
    assert controller.history.status == "rejected"
    assert controller.problems and "python-docs" in controller.problems[0].message
    assert shown and shown[-1] == controller.problems
    assert not controller.history.run_dir.exists()  # nothing started: no run folder


def test_editing_during_a_run_is_flagged_and_the_run_keeps_its_snapshot(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    graph = load_template("digits_cnn")
    document = Document(graph)
    controller = TrainingController(document)
    assert controller.start({"epochs": 2})
    assert not controller.graph_changed_since_start()
    graph.add_node(Node("extra", "ReLU", position=(0.0, 0.0)))
    assert controller.graph_changed_since_start()
    with qtbot.waitSignal(controller.run_ended, timeout=START_TIMEOUT_MS):
        pass
    assert controller.history.status == "finished", controller.history.message
    from graph_engine import load_graph

    saved = load_graph(controller.history.run_dir / "graph.json")
    assert "extra" not in saved.nodes
    graph.remove_node("extra")
    assert not controller.graph_changed_since_start()


@pytest.fixture(autouse=True)
def _no_leftover_children():
    yield
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(5)
