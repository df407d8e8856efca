"""File → Export / Import PyTorch model: the dialogs the main window's menus call."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMainWindow, QMessageBox

from app import interop_actions
from app.interop_actions import ImportDialog, export_dialog, import_dialog
from app.document import Document
from app.export_jobs import exports_of
from graph_engine import analyze, load_template
from tests.app.test_interop_cli import MODEL
from tests.engine.interop_helpers import train_briefly
from tests.timing import deadline_s


class Host(QMainWindow):
    """What the actions use of the main window: its document and its status bar."""

    def __init__(self, graph):
        super().__init__()
        self.document = Document(graph)


@pytest.fixture
def window(qtbot):
    window = Host(load_template("mlp"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def answers(monkeypatch):
    """Scripted replies to the file dialogs and message boxes, and a record of what was shown."""
    shown = {"warning": [], "critical": []}
    replies = {"save": "", "folder": "", "question": QMessageBox.StandardButton.No}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (replies["save"], ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: replies["folder"])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: replies["question"])
    for kind in shown:
        monkeypatch.setattr(QMessageBox, kind, lambda parent, title, text, _k=kind: shown[_k].append(text))
    return replies, shown


def test_export_torchscript_without_weights(window, answers, tmp_path):
    replies, shown = answers
    replies["save"] = str(tmp_path / "model.pt")
    job = export_dialog(window, "torchscript")
    assert window.statusBar().currentMessage() == "Exporting model.pt (TorchScript)…"
    assert job.wait(deadline_s(120)) == [tmp_path / "model.pt"]
    assert (tmp_path / "model.pt").stat().st_size > 0
    assert window.statusBar().currentMessage() == f"Exported model.pt in {job.seconds:.1f} s"
    assert shown == {"warning": [], "critical": []}


def test_export_python_with_a_runs_weights_and_training_script(window, answers, tmp_path):
    replies, shown = answers
    replies.update(save=str(tmp_path / "model.py"), question=QMessageBox.StandardButton.Yes,
                   folder=str(train_briefly(tmp_path)))
    job = export_dialog(window, "python-training")
    files = job.wait(deadline_s(60))
    assert [f.name for f in files] == ["model.py", "model.safetensors", "train.py"]
    assert window.statusBar().currentMessage() == \
        f"Exported model.py, model.safetensors, train.py in {job.seconds:.1f} s"


def test_export_refuses_a_graph_with_errors_and_reports_bad_weights(window, answers, tmp_path):
    replies, shown = answers
    replies.update(save=str(tmp_path / "model.onnx"), question=QMessageBox.StandardButton.Yes,
                   folder=str(tmp_path))
    job = export_dialog(window, "onnx")
    assert job.wait(deadline_s(120)) == []
    assert job.error == (f"model.onnx: {tmp_path}: the run has no checkpoint yet (checkpoints/best.safetensors "
                         "or last.safetensors); train the graph first")
    assert window.statusBar().currentMessage() == f"Export failed: {job.error}"
    assert QApplication.overrideCursor() is None
    window.document.graph.remove_node("flatten")
    window.document.refresh_analysis()
    assert export_dialog(window, "onnx") is None
    assert shown["warning"] == ["hidden1: input port 0 is not connected"]
    assert not (tmp_path / "model.onnx").exists()


def test_import_replaces_the_document_with_a_laid_out_valid_graph(window, answers, tmp_path, monkeypatch):
    (tmp_path / "net.py").write_text(MODEL, encoding="utf-8")
    chosen = (f"{tmp_path / 'net.py'}:Net", [1, 8, 8], "float32")
    monkeypatch.setattr(ImportDialog, "ask", classmethod(lambda cls, parent=None: chosen))
    imported = import_dialog(window)
    graph = window.document.graph
    assert imported is not None and graph is imported.graph and graph.name == "Net"
    assert analyze(graph).errors == [] and all(n.position is not None for n in graph)
    assert window.document.path is None and not window.document.dirty
    assert window.statusBar().currentMessage().startswith("Imported Net: 7 nodes")


def test_import_lists_unsupported_calls_and_keeps_the_document(window, answers, tmp_path, monkeypatch):
    replies, shown = answers
    (tmp_path / "gram.py").write_text(MODEL, encoding="utf-8")
    chosen = (f"{tmp_path / 'gram.py'}:Gram", [3, 4], "float32")
    monkeypatch.setattr(ImportDialog, "ask", classmethod(lambda cls, parent=None: chosen))
    before = window.document.graph
    assert import_dialog(window) is None
    assert window.document.graph is before
    (text,) = shown["warning"]
    assert text.startswith("Gram: these calls have no layer type:\n\n")
    assert "torch.cumsum at node cumsum" in text


def test_import_dialog_checks_what_is_typed(qtbot, tmp_path):
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QTest.keyClicks(dialog.target, "mymodels.py:ResNet")
    QTest.keyClicks(dialog.shape, "3,32")
    QTest.keyClicks(dialog.shape, ",zero")
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.problem.text() == "the input shape must be whole numbers, e.g. 3,32,32, not '3,32,zero'"
    dialog.grab().save(str(tmp_path / "import_dialog.png"))
    dialog.shape.clear()
    QTest.keyClicks(dialog.shape, "3, 32, 32")
    dialog.dtype.setCurrentIndex(1)
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.values() == ("mymodels.py:ResNet", [3, 32, 32], "int64")


def test_parse_shape_names_the_rule():
    assert interop_actions.parse_shape("1×28×28") == [1, 28, 28]
    with pytest.raises(ValueError, match="1 to 4 positive sizes"):
        interop_actions.parse_shape("1,2,3,4,5")


def test_the_main_windows_file_menu_imports_and_exports(qtbot, answers, tmp_path, monkeypatch):
    from app.main_window import MainWindow

    replies, _shown = answers
    (tmp_path / "net.py").write_text(MODEL, encoding="utf-8")
    chosen = (f"{tmp_path / 'net.py'}:Net", [1, 8, 8], "float32")
    monkeypatch.setattr(ImportDialog, "ask", classmethod(lambda cls, parent=None: chosen))
    main = MainWindow(load_template("mlp"), autosave=False)
    try:
        actions = {a.text(): a for a in main.findChildren(type(main.menuBar().actions()[0]))}
        actions["&Import PyTorch model…"].trigger()
        assert main.document.graph.name == "Net" and main.scene is not None
        assert all(main.scene.node_item(n) is not None for n in main.document.graph.nodes)
        replies["save"] = str(tmp_path / "net.onnx")
        actions["&ONNX…"].trigger()
        assert exports_of(main).running[0].wait(deadline_s(180)) == [tmp_path / "net.onnx"]
        assert (tmp_path / "net.onnx").stat().st_size > 0
    finally:
        main.document.undo_stack.setClean()
        main.close()
