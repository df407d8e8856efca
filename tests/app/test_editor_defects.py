"""Issue 13's defects, each through the real widgets (mouse and key events where a person
would use them), each failing before its fix."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import cli, gui
from app.main_window import MainWindow
from graph_engine import graph_to_dict, load_template
from graph_engine.training.history import RunHistory
from widgets.training_panel import TrainingPanel


@pytest.fixture
def window(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()


# -- 1: status messages are visible beside the totals ------------------------------------
def test_a_status_message_has_room_beside_the_totals(window):
    text = "Refused: connecting relu2 → hidden1 would close the cycle hidden1 → relu2 → hidden1"
    window._show_status(text)
    bar = window.statusBar()
    assert bar.currentMessage() == text
    room = window.summary.geometry().left()
    assert room >= bar.fontMetrics().horizontalAdvance(text), "the totals take the whole bar"


# -- 4 and 5: Ctrl+Z and Escape in an Inspector field -------------------------------------
def _select(window, node_id):
    window.scene.select_ids([node_id])
    return window.inspector


def test_ctrl_z_in_a_committed_field_undoes_the_document_once(window, qtbot):
    inspector = _select(window, "hidden1")
    spin = inspector.editor("out_features")
    before = window.document.graph.node("hidden1").params["out_features"]
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "77")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert window.document.graph.node("hidden1").params["out_features"] == 77
    QTest.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.node("hidden1").params["out_features"] == before
    assert spin.value() == before
    window.view.setFocus()  # leaving the field commits nothing more
    assert window.document.graph.node("hidden1").params["out_features"] == before
    assert window.document.undo_stack.index() == 0


def test_ctrl_z_while_typing_undoes_the_typing_only(window):
    inspector = _select(window, "hidden1")
    edit = inspector.label_edit
    edit.setFocus()
    QTest.keyClicks(edit, "wide")
    QTest.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == ""
    assert window.document.undo_stack.count() == 0


def test_escape_puts_back_the_value_the_node_has(window):
    window.scene.select_ids(["flatten"])
    window.scene.select_ids(["pixels"])
    inspector = window.inspector
    shape = inspector.editor("shape")
    shape.setFocus()
    shape.selectAll()
    QTest.keyClicks(shape, "1, -4")
    QTest.keyClick(shape, Qt.Key.Key_Return)
    assert inspector.error_text("shape")
    QTest.keyClick(shape, Qt.Key.Key_Escape)
    assert shape.text() == "1, 8, 8" and not inspector.error_text("shape")


# -- 8: a paused run shows the epoch it is in --------------------------------------------
def test_a_paused_run_shows_the_epoch_in_progress(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    history = RunHistory(settings={"epochs": 20})
    history.apply({"type": "started", "run_dir": "/tmp/r", "task": "classification", "dataset": "digits",
                   "device": "cpu", "steps_per_epoch": 23, "total_steps": 460})
    history.steps.append(26, 2, 0.5, 1e-3, 1.0)
    panel.show_run(history)
    assert panel.progress_label.text().startswith("epoch 2/20")
    history.apply({"type": "paused", "step": 26})
    panel.show_run(history)
    assert panel.progress_label.text().startswith("epoch 2/20")


# -- 10: gui template:KEY and `rosenblatt FILE.json` ---------------------------------------
def test_gui_opens_a_template_argument(tmp_path, qapp, capsys):
    out = tmp_path / "lenet.png"
    assert gui.run_gui("template:lenet5", str(out), (800, 600)) == 0
    assert out.is_file()


def test_a_bare_file_argument_opens_the_editor(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(gui, "run_gui", lambda file, *a, **k: seen.append(file) or 0)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph_to_dict(load_template("mlp"))), encoding="utf-8")
    assert cli.main([str(path)]) == 0
    assert seen == [str(path)]


# -- 14: totals of what could be inferred, marked partial ---------------------------------
def test_totals_are_partial_when_a_shape_is_unknown(window, qtbot):
    window.scene.select_ids(["flatten"])
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    text = window.summary.text()
    assert "partial" in text and "≥" in text, text
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "partial" not in window.summary.text()


# -- 15: a file without positions is laid out on open -------------------------------------
def test_a_file_without_positions_is_laid_out_on_open(window, tmp_path):
    data = graph_to_dict(load_template("lenet5"))
    for node in data["nodes"]:
        node.pop("position", None)
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert window.open_path(path, confirm=False)
    spots = {item.pos().toTuple() for item in window.scene.node_items().values()}
    assert len(spots) == len(window.document.graph)
    assert not window.document.dirty


# -- 7: duplicates and "add after" ---------------------------------------------------------
def _overlapping(window):
    items = list(window.scene.node_items().values())
    return [(a.node_id, b.node_id) for i, a in enumerate(items) for b in items[i + 1:]
            if a.sceneBoundingRect().adjusted(12, 0, -12, 0).intersects(b.sceneBoundingRect().adjusted(12, 0, -12, 0))]


def test_duplicates_are_named_as_copies_and_land_beside_the_originals(window):
    window.document.replace_graph(load_template("digits_cnn"), None)
    before = set(window.document.graph.nodes)
    window.scene.select_ids(["conv1", "relu1", "conv2", "relu2"])
    window.view.setFocus()
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    added = set(window.document.graph.nodes) - before
    assert added == {"conv1_copy", "relu1_copy", "conv2_copy", "relu2_copy"}
    assert not _overlapping(window)
    titles = [item.title for item in window.scene.node_items().values()]
    assert len(titles) == len(set(titles))


def test_add_after_a_node_with_a_successor_inserts_into_the_chain(window):
    window.scene.select_ids(["hidden1"])
    palette = window.palette
    palette.search.setFocus()
    QTest.keyClicks(palette.search, "Dropout")
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    graph = window.document.graph
    (added,) = [n.id for n in graph if n.type == "Dropout"]
    pairs = [(e.source, e.target) for e in graph.edges]
    assert (added, "relu1") in pairs and ("hidden1", added) in pairs and ("hidden1", "relu1") not in pairs
    assert not _overlapping(window)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ("hidden1", "relu1") in [(e.source, e.target) for e in graph.edges] and not _overlapping(window)


# -- 12: the graph is named in the app; Save proposes its name ------------------------------
def test_the_graph_is_named_in_the_app_and_save_proposes_that_name(window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from app.file_actions import documents_folder
    from graph_engine import generate_code

    before = window.document.graph.name
    window.settings.remove("recent_files")  # a first save: no folder used yet
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Digit reader", True)))
    name_action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Name the graph…")
    name_action.trigger()
    assert window.document.graph.name == "Digit reader" and window.document.dirty
    assert "class DigitReader(nn.Module)" in generate_code(window.document.graph)
    proposed = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda _p, _t, path, _f: proposed.append(path) or ("", "")))
    window.save_as()
    assert proposed == [str(documents_folder() / "Digit_reader.json")]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.name == before
