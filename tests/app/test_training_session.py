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
from tests.timing import deadline_ms

#: end to end: the tests here start real training child processes (make test-fast leaves them out)
pytestmark = pytest.mark.slow

#: a child process needs a few seconds to import torch and load the data on a 2-core machine;
#: stretched by the machine's measured slowdown (tests/timing.py)
START_TIMEOUT_MS = deadline_ms(60_000)


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
    qtbot.waitUntil(lambda: history.status == "paused", timeout=deadline_ms(10_000))
    paused_at = history.step
    qtbot.wait(400)
    assert history.step <= paused_at + 1  # the step in flight may finish; no more
    session.resume()
    qtbot.waitUntil(lambda: history.status == "running" and history.step > paused_at + 1,
                    timeout=deadline_ms(10_000))
    with qtbot.waitSignal(session.ended, timeout=deadline_ms(20_000)):
        session.stop()
    assert history.status == "finished"
    assert "stopped by request" in history.message
    assert history.step < history.total_steps


def test_a_killed_child_is_reported_and_a_new_run_starts(qtbot, tmp_path):
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    session.start(graph, {**graph.training, "epochs": 500}, tmp_path / "run")
    qtbot.waitUntil(lambda: len(history.steps) > 20, timeout=START_TIMEOUT_MS)
    with qtbot.waitSignal(session.ended, timeout=deadline_ms(20_000)):
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
    graph.set_training({**graph.training, "dataset": "python-docs"})  # text for an image classifier
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


def _dies_mid_message(graph_json, settings, run_dir, connection, control, log_path):
    """A child that announces an 8 MB message, writes a little of it, and dies."""
    import struct

    os.write(connection.fileno(), struct.pack("!i", 8_000_000) + b"x" * 4096)
    os._exit(9)


def test_a_child_dying_in_the_middle_of_a_message_is_reported_not_waited_for(qtbot, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr("app.training_session.train_in_child", _dies_mid_message)
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    with qtbot.waitSignal(session.ended, timeout=START_TIMEOUT_MS):
        session.start(graph, graph.training, tmp_path / "run")
    assert history.status == "crashed" and "exit code 9" in history.message
    assert not session.running


def test_a_process_that_cannot_start_leaves_nothing_running(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    import multiprocessing.context

    def refuse(self):
        raise OSError(24, "Too many open files")

    controller = TrainingController(Document(load_template("digits_cnn")))
    with monkeypatch.context() as patched:
        patched.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
        assert not controller.start({"epochs": 1})
    assert controller.history.status == "rejected" and "Too many open files" in controller.history.message
    assert not controller.running and controller.problems
    with qtbot.waitSignal(controller.run_ended, timeout=START_TIMEOUT_MS):
        assert controller.start({"epochs": 1})  # the next start works
    assert controller.history.status == "finished"


def test_closing_during_a_run_ends_the_session_and_cleans_up(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path))
    controller = TrainingController(Document(load_template("digits_cnn")))
    assert controller.start({"epochs": 500})
    qtbot.waitUntil(lambda: controller.history.step > 0, timeout=START_TIMEOUT_MS)
    log = controller.session._log
    with qtbot.waitSignal(controller.run_ended, timeout=deadline_ms(20_000)):
        controller.shutdown(wait_s=10)
    assert not controller.running and log is not None and not log.exists()
    assert controller.history.status == "finished"  # it stopped cleanly within the wait


def test_an_answer_about_an_earlier_run_is_dropped(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer

    (tmp_path / "a" / "checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "checkpoints" / "last.safetensors").write_bytes(b"")
    controller = TrainingController(Document(load_template("digits_cnn")))
    controller.history = RunHistory(run_dir=tmp_path / "a")
    answers = []

    def slow_job(run_dir, callback):
        QTimer.singleShot(50, lambda: callback("patches of a"))

    assert controller.inspect(slow_job, on_result=answers.append, on_error=answers.append)
    controller.history = RunHistory(run_dir=tmp_path / "b")  # another run is shown meanwhile
    qtbot.wait(200)
    assert answers == []


def _trainer_with_a_bug(*args):
    """The real child, whose trainer has a programming error before its first step."""
    import sys

    from graph_engine.training import trainer
    from graph_engine.training.worker import train_in_child

    def broken(self, *rest, **options):
        print("the child's own words", file=sys.stderr)
        raise KeyError("x")

    trainer.Trainer.__init__ = broken
    train_in_child(*args)


def test_a_programming_error_in_the_child_leaves_its_traceback_and_log_in_the_run_folder(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("app.training_session.train_in_child", _trainer_with_a_bug)
    session, history = _session(qtbot)
    graph = load_template("digits_cnn")
    run_dir = tmp_path / "run"
    with qtbot.waitSignal(session.ended, timeout=START_TIMEOUT_MS):
        session.start(graph, graph.training, run_dir)
    assert history.status == "failed"
    assert history.message == f"KeyError: 'x' (traceback in {run_dir / 'error.txt'})"
    traceback = (run_dir / "error.txt").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in traceback and "in broken" in traceback
    assert "the child's own words" in (run_dir / "train.log").read_text(encoding="utf-8")
