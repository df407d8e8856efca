"""Issue 17, item 4: big graphs open with progress and Cancel, beyond a documented size they
are refused in one message, and many edges open without shape labels."""

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton
from PySide6.QtTest import QTest
from PySide6.QtCore import Qt

from app import large_graphs
from app.main_window import MainWindow
from graph_engine import Graph, load_template, save_graph


def chain(path, nodes: int) -> None:
    graph = Graph("long chain")
    previous = graph.create_node("Input", {"shape": [8]}, position=(0.0, 0.0)).id
    for i in range(nodes - 2):
        previous_node = graph.create_node("ReLU", position=(240.0 * (i % 50), 150.0 * (i // 50)))
        graph.connect(previous, previous_node.id)
        previous = previous_node.id
    graph.connect(previous, graph.create_node("Output", position=(0.0, -300.0)).id)
    save_graph(graph, path)


@pytest.fixture
def window(qtbot):
    window = MainWindow(load_template("mlp"), autosave=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.close()


def _click_cancel() -> None:
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible())
    QTest.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)


def test_a_big_graph_opens_with_progress_and_cancel_keeps_the_document(window, tmp_path):
    path = tmp_path / "long.json"
    chain(path, 3000)
    before = window.document.graph
    QTimer.singleShot(0, _click_cancel)
    assert not window.open_path(path, confirm=False)
    assert window.document.graph is before and window.scene.graph is before
    assert "cancelled" in window.statusBar().currentMessage()
    seen = []
    QTimer.singleShot(0, lambda: seen.extend(w for w in QApplication.topLevelWidgets()
                                             if isinstance(w, QProgressDialog) and w.isVisible()))
    assert window.open_path(path, confirm=False)
    assert seen, "no progress was shown"
    assert len(window.scene.node_items()) == 3000 and len(window.document.graph) == 3000
    assert window.scene.edge_item(window.document.graph.edges[0]).label == "8"


def test_beyond_the_limit_a_graph_is_refused_in_one_message(window, tmp_path, monkeypatch):
    path = tmp_path / "long.json"
    chain(path, 200)
    monkeypatch.setattr(large_graphs, "MAX_EDGES", 150)
    said = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _p, title, text: said.append(text)))
    before = window.document.graph
    assert not window.open_path(path, confirm=False)
    assert window.document.graph is before
    (text,) = said
    assert "200 nodes and 199 edges" in text and "up to" in text and "\n" not in text


def test_many_edges_open_without_shape_labels(window, tmp_path, monkeypatch):
    path = tmp_path / "long.json"
    chain(path, 200)
    monkeypatch.setattr(large_graphs, "EDGE_LABELS_UP_TO", 100)
    assert window.open_path(path, confirm=False)
    assert all(item.label == "" for item in window.scene.edge_items().values())
