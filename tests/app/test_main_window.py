"""The editor window, driven through its real widgets with mouse and key events."""

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main_window import MainWindow
from app.recovery import Autosaver, pending_recovery
from graph_engine import Edge, dumps, load_template, save_graph
from tests.qt_helpers import at, body_point, drag
from widgets.palette import layer_mime_data


@pytest.fixture
def window(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.view.fit()
    yield window
    window.document.undo_stack.setClean()  # closing must not stop at "save changes?"
    window.close()
    window.deleteLater()


def graph(window):
    return window.document.graph


def drop_mime(widget, point: QPoint, mime: QMimeData) -> None:
    """Deliver a drop as the window system would at the end of a drag."""
    for kind in (QDropEvent.Type.DragEnter, QDropEvent.Type.DragMove):
        from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
        cls = QDragEnterEvent if kind == QDropEvent.Type.DragEnter else QDragMoveEvent
        QApplication.sendEvent(widget, cls(point, Qt.DropAction.CopyAction, mime,
                                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(widget, QDropEvent(QPointF(point), Qt.DropAction.CopyAction, mime,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def test_dropping_a_palette_type_adds_it_where_dropped_and_undo_removes_it(window):
    viewport = window.view.viewport()
    point = viewport.rect().center()
    drop_mime(viewport, point, layer_mime_data("Dropout"))
    (added,) = [n for n in graph(window) if n.type == "Dropout"]
    x, y = added.position
    target = window.view.mapToScene(point)
    assert abs(x + 85 - target.x()) < 25 and abs(y + 32 - target.y()) < 25
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not [n for n in graph(window) if n.type == "Dropout"]


def test_enter_in_the_palette_adds_after_the_selected_node_wired(window):
    window.scene.select_ids(["relu2"])
    palette = window.palette
    palette.search.setFocus()
    QTest.keyClicks(palette.search, "Dropout")
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    (added,) = [n.id for n in graph(window) if n.type == "Dropout"]
    assert Edge("relu2", added) in graph(window).edges
    assert window.selected == [added]


def test_connecting_ports_with_the_mouse_and_a_refused_cycle(window):
    scene, view = window.scene, window.view
    scene.set_analysis(window.document.analysis)
    source = scene.node_item("relu2")
    target = scene.node_item("hidden1")
    drag(view, at(view, source.output_port_scene_pos()), at(view, target.input_port_scene_pos(0)))
    assert Edge("relu2", "hidden1") not in graph(window).edges
    assert "would close the cycle hidden1 → relu1 → hidden2 → relu2 → hidden1" in \
        window.statusBar().currentMessage()
    assert set(scene.highlighted_ids()) == {"hidden1", "relu1", "hidden2", "relu2"}
    # a legal drag: flatten's output onto hidden2's (occupied) input replaces that connection
    drag(view, at(view, scene.node_item("flatten").output_port_scene_pos()),
         at(view, scene.node_item("hidden2").input_port_scene_pos(0)))
    assert Edge("flatten", "hidden2") in graph(window).edges
    assert not scene.highlighted_ids()


def test_delete_copy_paste_duplicate_and_undo_redo_by_keyboard(window):
    before = dumps(graph(window))
    original = set(graph(window).nodes)
    window.scene.select_ids(["hidden2", "relu2"])
    window.view.setFocus()
    QTest.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = [n for n in graph(window).nodes if n not in original]
    assert pasted == ["hidden2_copy", "relu2_copy"]
    assert Edge("hidden2_copy", "relu2_copy") in graph(window).edges
    assert window.selected == pasted
    QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(graph(window)) == 12
    window.scene.select_ids(["relu1"])
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert "relu1" not in graph(window)
    for _ in range(3):
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(graph(window)) == before
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(graph(window)) == 10


def test_moving_nodes_with_the_mouse_is_one_undo_step(window):
    scene, view = window.scene, window.view
    scene.select_ids(["hidden1", "relu1"])
    first = scene.node_item("hidden1")
    old = graph(window).node("hidden1").position, graph(window).node("relu1").position
    start = at(view, body_point(first))
    drag(view, start, start + QPoint(0, 80))
    new = graph(window).node("hidden1").position, graph(window).node("relu1").position
    assert new[0][1] > old[0][1] and new[1][1] > old[1][1]
    assert window.document.undo_stack.count() == 1
    window.document.undo_stack.undo()
    assert (graph(window).node("hidden1").position, graph(window).node("relu1").position) == old


def test_inspector_refuses_a_bad_value_and_applies_a_good_one(window):
    window.scene.select_ids(["hidden1"])
    field = window.inspector.editor("out_features")
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, "64")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert graph(window).node("hidden1").params["out_features"] == 64
    window.scene.select_ids(["flatten"])
    window.scene.select_ids(["pixels"])
    shape = window.inspector.editor("shape")
    shape.setFocus()
    shape.selectAll()
    QTest.keyClicks(shape, "0, 8, 8")
    QTest.keyClick(shape, Qt.Key.Key_Return)
    assert graph(window).node("pixels").params["shape"] == [1, 8, 8]
    assert "≥ 1" in window.inspector.error_text("shape")
    assert window.document.undo_stack.count() == 1


def test_the_problems_panel_fix_button_repairs_the_graph(window, qtbot):
    window.controller.delete(["flatten"])
    window.controller.connect_ports("pixels", "hidden1", 0)
    assert window.problems.fix_buttons
    button = next(iter(window.problems.fix_buttons.values()))
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.document.analysis.ok
    assert window.problems.header.text() == "No problems"


def test_save_open_round_trip_title_and_bad_file(window, tmp_path, monkeypatch):
    path = tmp_path / "net.json"
    window.controller.edit_params("hidden1", {"out_features": 77})
    assert window.windowTitle() == "MLP[*] — Rosenblatt" and window.isWindowModified()
    window._save_to(path)
    assert window.windowTitle() == "net.json[*] — Rosenblatt" and not window.isWindowModified()
    reopened = MainWindow(autosave=False)
    assert reopened.open_path(path, confirm=False)
    assert dumps(reopened.document.graph) == dumps(graph(window))
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: errors.append(text))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "rosenblatt-graph", "version": 1, "nodes": [{"id": "1x", "type": "ReLU"}]}')
    assert not reopened.open_path(bad, confirm=False)
    assert errors and "bad.json" in errors[0] and "1x" in errors[0]
    assert dumps(reopened.document.graph) == dumps(graph(window))
    reopened.close()


def test_recovery_is_offered_after_a_crash(window, monkeypatch):
    saver = Autosaver(window.document, interval_ms=60_000)
    window.controller.edit_params("hidden1", {"out_features": 33})
    saver.save_now()  # what the timer does every 30 s
    recovery = pending_recovery()
    assert recovery is not None and recovery.graph.node("hidden1").params["out_features"] == 33
    fresh = MainWindow(autosave=False)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    fresh.offer_recovery()
    assert fresh.document.graph.node("hidden1").params["out_features"] == 33
    assert fresh.document.dirty and pending_recovery() is None
    fresh.document.undo_stack.setClean()
    fresh.close()


def test_screenshot_command_and_bad_file(tmp_path, qapp):
    from app.cli import main
    out = tmp_path / "shot.png"
    template = tmp_path / "lenet.json"
    save_graph(load_template("lenet5"), template)
    assert main(["gui", str(template), "--screenshot", str(out), "--size", "800x600"]) == 0
    from PySide6.QtGui import QImage
    image = QImage(str(out))
    assert (image.width(), image.height()) == (800, 600)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["gui", str(bad), "--screenshot", str(out)]) == 2  # unreadable: exit 2, as the README says (issue 17, item 12)


def test_unsaved_changes_are_asked_about_before_opening_another_file(window, tmp_path, monkeypatch):
    other = tmp_path / "other.json"
    save_graph(load_template("perceptron"), other)
    window.controller.edit_params("hidden1", {"out_features": 5})
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args) or QMessageBox.StandardButton.Cancel)
    assert not window.open_path(other)
    assert asked and graph(window).node("hidden1").params["out_features"] == 5
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.open_path(other)
    assert graph(window).name == "Perceptron" and not window.document.dirty


def test_view_code_shows_the_generated_module_and_copies_it(window):
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.code_view
    text = dialog.editor.toPlainText()
    assert "class MLP(nn.Module):" in text and "self.hidden1 = nn.Linear(64, 128)" in text
    assert dialog.editor.isReadOnly()
    QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == text
    dialog.close()
