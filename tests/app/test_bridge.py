"""The road from model to views (issue 10): what each command changed, re-analysis only for
the network, connections made once, and commands that survive a failing view."""

from __future__ import annotations

import pytest
from PySide6.QtCore import SIGNAL, Qt
from PySide6.QtWidgets import QMessageBox

from app import commands
from app.bridge import LAYOUT, NETWORK, TRAINING
from app.document import Document
from app.main_window import MainWindow
from graph_engine import Edge, GraphError, Node, load_template, save_graph
from graph_engine.training.history import RunHistory

DOCUMENT_SIGNALS = ("graph_replaced(PyObject)", "changed(PyObject)", "analysis_changed(PyObject)")


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(load_template("digits_cnn"), autosave=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.training.shutdown(0)
    win.document.undo_stack.setClean()


def _receivers(document: Document) -> dict[str, int]:
    return {name: document.receivers(SIGNAL(name)) for name in DOCUMENT_SIGNALS}


def test_settings_edits_make_no_new_connections_and_keep_the_shown_run(qtbot, window):
    """Defect 1: every Training-panel edit re-connected graph_replaced, forgot the shown run
    and re-read earlier runs; after 10 steps one New ran the handler 11 times."""
    workspace, document = window.workspace, window.document
    before = _receivers(document)
    history = RunHistory(status="running")
    cleared = []
    workspace.views["patches"].clear = lambda: cleared.append(1)
    workspace.controller.run_shown.emit(history)
    workspace.controller.run_changed.emit(history)
    assert len(cleared) == 1
    loads = []
    workspace.controller.load_earlier_runs = lambda callback: loads.append(callback)
    epochs = workspace.panel.epochs
    epochs.setFocus()
    for _ in range(10):
        qtbot.keyClick(epochs, Qt.Key.Key_Up)
    assert document.graph.training["epochs"] > 10 or document.undo_stack.count() >= 1
    assert _receivers(document) == before
    assert not loads  # a settings edit does not re-read the earlier runs
    workspace.controller.run_changed.emit(history)  # the same run's next status
    assert len(cleared) == 1  # its patches are still shown
    window.new_document()
    assert len(loads) == 1  # one New, one reload


def test_each_command_says_what_it_changed_and_only_the_network_is_re_analysed(qtbot):
    document = Document(load_template("mlp"))
    changes, analyses = [], []
    document.changed.connect(changes.append)
    document.analysis_changed.connect(analyses.append)
    graph = document.graph
    node_id = next(iter(graph.nodes))
    document.push(commands.move(graph, {node_id: (500.0, 10.0)}))
    document.push(commands.set_training(graph, {"epochs": 3}))
    assert changes == [{LAYOUT}, {TRAINING}]
    assert analyses == []
    document.push(commands.add_nodes(graph, [Node("extra", "ReLU")]))
    assert changes[-1] == {NETWORK} and len(analyses) == 1
    document.undo_stack.undo()
    assert changes[-1] == {NETWORK} and len(analyses) == 2
    document.undo_stack.undo()
    assert changes[-1] == {TRAINING} and len(analyses) == 2
    assert "epochs" not in graph.training


def _file_bytes(graph, tmp_path, name):
    path = tmp_path / name
    save_graph(graph, path)
    return path.read_bytes()


def test_a_failing_view_leaves_the_command_undoable(qtbot, tmp_path):
    """Defect 3: a listener raising during redo left the command without inverses."""
    document = Document(load_template("mlp"))
    graph = document.graph
    original = _file_bytes(graph, tmp_path, "before.json")
    calls = []

    def broken_view(*args):
        calls.append(args)
        raise KeyError("x")

    graph.node_added.connect(broken_view)
    graph.edge_added.connect(broken_view)
    first = next(iter(graph.nodes))
    with qtbot.captureExceptions() as raised:
        document.push(commands.add_nodes(graph, [Node("extra", "ReLU")], [Edge(first, "extra")]))
    assert [type(e[1]) for e in raised] == [KeyError]  # reported, with its traceback
    assert "extra" in graph and len(calls) == 2  # the whole command was applied
    edited = _file_bytes(graph, tmp_path, "edited.json")
    graph.node_added.disconnect(broken_view)
    graph.edge_added.disconnect(broken_view)
    document.undo_stack.undo()
    assert _file_bytes(graph, tmp_path, "undone.json") == original
    document.undo_stack.redo()
    assert _file_bytes(graph, tmp_path, "redone.json") == edited


def test_a_refused_edit_rolls_back_and_leaves_no_undo_step(qtbot, tmp_path):
    document = Document(load_template("mlp"))
    graph = document.graph
    original = _file_bytes(graph, tmp_path, "before.json")
    count = document.undo_stack.count()
    first = next(iter(graph.nodes))
    bad = commands.add_nodes(graph, [Node("extra", "ReLU")], [Edge(first, "extra"), Edge("extra", "nowhere")])
    with pytest.raises(GraphError, match="nowhere"):
        document.push(bad)
    assert _file_bytes(graph, tmp_path, "after.json") == original
    assert document.undo_stack.count() == count
