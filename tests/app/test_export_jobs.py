"""Issue 13, defect 16: File → Export keeps the window responsive (a 16 s ONNX export froze it).

Through the main window's File → Export menu: the event loop keeps ticking while torch's
exporter works in its child process, the file appears, the status bar says what happens, the
document's later edits do not reach the file, a failure leaves no partial file, two exports
run side by side, and closing the window stops an export cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app import interop_actions
from app.export_jobs import exports_of
from app.main_window import MainWindow
from graph_engine import load_template
from graph_engine.atomic import temporary_names
from tests.timing import deadline_s


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    window = MainWindow(load_template("digits_cnn"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    for job in exports_of(window).running:
        job.cancel()
    window.close()


@pytest.fixture
def save_as(monkeypatch):
    """The Save dialog answers with the path put in the list (no weights, nothing to replace)."""
    chosen: list[Path] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(chosen.pop(0)), "")))
    monkeypatch.setattr(interop_actions, "ask_weights", lambda _window: (True, None))
    return chosen


def menu_action(window: MainWindow, text: str) -> QAction:
    return next(a for a in window.findChildren(QAction) if a.text() == text)


def ticking() -> tuple[QTimer, list[int]]:
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    return timer, ticks


def test_a_torchscript_export_keeps_the_window_responsive_and_exports_the_snapshot(window, save_as, tmp_path):
    target = tmp_path / "model.pt"
    save_as.append(target)
    timer, ticks = ticking()
    menu_action(window, "&TorchScript…").trigger()
    exports = exports_of(window)
    [job] = exports.running
    assert window.statusBar().currentMessage() == "Exporting model.pt (TorchScript)…"
    assert QApplication.overrideCursor() is not None
    nodes = sorted(window.document.graph.nodes)
    window.controller.delete(["dropout"])  # an edit while it runs: the export keeps its snapshot
    window.document.undo_stack.setClean()  # (closing asks nothing)
    ticks_at_start = len(ticks)
    assert job.wait(deadline_s(120)) == [target]
    timer.stop()
    # the child takes seconds (python, torch, the exporter): a blocked loop ticked not at all
    assert len(ticks) - ticks_at_start >= 20, "the event loop stood still during the export"
    assert sorted(job.graph.nodes) == nodes and "dropout" not in window.document.graph
    assert target.stat().st_size > 0 and not temporary_names(tmp_path)
    assert window.statusBar().currentMessage() == f"Exported model.pt in {job.seconds:.1f} s"
    assert QApplication.overrideCursor() is None

    import torch

    with pytest.warns(DeprecationWarning):  # torch.jit is deprecated but still loads
        module = torch.jit.load(str(target))
    assert "dropout" in dict(module.named_children())  # the graph as it was when asked


@pytest.mark.slow
def test_an_onnx_export_keeps_the_event_loop_ticking(window, save_as, tmp_path):
    target = tmp_path / "model.onnx"
    save_as.append(target)
    timer, ticks = ticking()
    menu_action(window, "&ONNX…").trigger()
    [job] = exports_of(window).running
    assert window.statusBar().currentMessage() == "Exporting model.onnx (ONNX)…"
    assert job.wait(deadline_s(300)) == [target]
    timer.stop()
    assert len(ticks) >= 50, "the event loop stood still during the export"
    assert target.stat().st_size > 0 and not temporary_names(tmp_path)


def test_a_failed_export_says_so_in_one_line_and_leaves_no_file(window, save_as, tmp_path, monkeypatch):
    empty_run = tmp_path / "run"
    empty_run.mkdir()
    monkeypatch.setattr(interop_actions, "ask_weights", lambda _window: (True, str(empty_run)))
    target = tmp_path / "model.onnx"
    save_as.append(target)
    menu_action(window, "&ONNX…").trigger()
    [job] = exports_of(window).running
    assert job.wait(deadline_s(120)) == []
    message = window.statusBar().currentMessage()
    assert message.startswith("Export failed: model.onnx: ") and "no checkpoint" in message
    assert "\n" not in message
    assert not target.exists() and not temporary_names(tmp_path)
    assert QApplication.overrideCursor() is None


def test_two_exports_at_once_and_the_same_file_twice(window, save_as, tmp_path):
    first, second = tmp_path / "a.pt", tmp_path / "b.py"
    save_as.extend([first, second, first])
    menu_action(window, "&TorchScript…").trigger()
    menu_action(window, "&Python module…").trigger()
    menu_action(window, "&TorchScript…").trigger()  # a.pt again, while the first is at work
    exports = exports_of(window)
    jobs = list(exports.running)
    assert sorted(job.path.name for job in jobs) == ["a.pt", "b.py"]
    assert window.statusBar().currentMessage() == "a.pt is being exported already: wait for it to finish"
    for job in jobs:
        job.wait(deadline_s(120))
    assert [job.error for job in jobs] == [None, None]
    assert first.stat().st_size > 0 and "class" in second.read_text()
    assert QApplication.overrideCursor() is None


def test_closing_the_window_during_an_export_stops_it_cleanly(qtbot, window, save_as, tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    save_as.append(target)
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    menu_action(window, "&ONNX…").trigger()
    [job] = exports_of(window).running
    qtbot.waitUntil(lambda: job.process.processId() > 0, timeout=int(deadline_s(10) * 1000))
    assert window.close()
    assert asked == ["Exporting model.onnx. Stop and close?"]
    assert job.done and job.error == "model.onnx: export stopped"
    assert job.process.state() == job.process.ProcessState.NotRunning
    assert not target.exists() and not temporary_names(tmp_path)
    assert QApplication.overrideCursor() is None
