"""The Text panel through the real window (issues 12 and 13, defect 16).

- Generating from the 2×256 character LSTM runs off the GUI thread: the event loop keeps
  ticking, a bar counts the characters, Cancel stops the job and keeps the text so far.
- A replayed run (Training → Open run…, as Earlier runs and the Runs list open it) offers the
  right source: a captioner's run decodes validation images, a translator's a typed sentence.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory
from tests.timing import deadline_ms

WAIT_MS = deadline_ms(120_000)


def _train(key: str, run_dir: Path, train: int, validation: int, **overrides) -> Path:
    """``key``'s template trained one short epoch on the first samples of its dataset."""
    graph = load_template(key)
    settings = settings_from_dict(graph.training, epochs=1, probe_every=0, **overrides)
    data = load_dataset_for(graph, settings)
    data.x_train, data.y_train = data.x_train[:train], data.y_train[:train]
    data.x_val, data.y_val = data.x_val[:validation], data.y_val[:validation]
    for name in ("val_references", "val_sources"):
        if name in data.extra:
            data.extra[name] = data.extra[name][:validation]
    history = RunHistory()
    Trainer(graph, data, settings, history.apply, run_dir, probes=False).run()
    assert history.status == "finished", history.message
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("text_runs")


@pytest.fixture(scope="module")
def char_run(runs) -> Path:
    return _train("char_lstm", runs / "chars", train=64, validation=16, batch_size=64)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(load_template("char_lstm"), autosave=False)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.workspace.controller.inspector.cancel_generation()
    win.training.shutdown(0)
    win.document.undo_stack.setClean()
    win.close()


def _text_panel(window):
    window.workspace.docks["text"].raise_()
    return window.workspace.views["text"]


def _set(spin, value: int) -> None:
    spin.setFocus()
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(spin.lineEdit(), str(value))


def test_generation_keeps_the_window_responsive_counts_characters_and_cancels(qtbot, window, char_run):
    window.workspace.open_run(str(char_run))
    panel = _text_panel(window)
    assert panel.generate_button.isEnabled() and not panel.progress.isVisible()
    _set(panel.length_spin, 5000)
    _set(panel.beam_spin, 16)  # beam search: the slowest generation the panel offers
    ticks: list[int] = []
    seen: list[tuple[int, int]] = []  # (bar value, timer ticks when it was shown)
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    panel.progress.bar.valueChanged.connect(lambda value: seen.append((value, len(ticks))))
    timer.start()
    try:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
        assert panel.progress.isVisible() and panel.progress.bar.maximum() == 5000
        assert panel.progress.bar.text() == "0 / 5,000 characters"
        # the bar advances while the GUI thread keeps serving its timer: it ticks between two
        # of the bar's steps (a job on the GUI thread would deliver every step after the end)
        def moving() -> list[tuple[int, int]]:
            return [(v, t) for v, t in seen if 0 < v < 5000]

        qtbot.waitUntil(lambda: len({t for _, t in moving()}) >= 3, timeout=WAIT_MS)
        assert ticks and [v for v, _ in moving()] == sorted(v for v, _ in moving())
        assert len(panel.output.toPlainText()) == 0  # still under way
        done = moving()[-1][0]
        assert panel.progress.bar.text() == f"{done:,} / 5,000 characters"
        qtbot.mouseClick(panel.progress.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not panel.progress.isVisible(), timeout=WAIT_MS)
    finally:
        timer.stop()
    generated = panel.output.toPlainText()[len("The "):]
    assert 0 < len(generated) < 5000
    assert panel.caption.endswith(f"stopped after {len(generated):,} of 5,000 characters")
    # a whole generation: the bar goes away, the text is complete
    _set(panel.beam_spin, 0)
    _set(panel.length_spin, 400)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.caption.startswith("Sampled"), timeout=WAIT_MS)
    assert not panel.progress.isVisible() and "stopped" not in panel.caption
    assert len(panel.output.toPlainText()) == len("The ") + 400


def test_a_replayed_captioning_run_decodes_images(qtbot, window, runs):
    run_dir = _train("shapes_captioner", runs / "captions", train=128, validation=24, batch_size=64)
    window.workspace.open_run(str(run_dir))
    panel = _text_panel(window)
    assert panel.decode_box.isVisible() and not panel.generate_box.isVisible()
    assert not panel.source_edit.isEnabled() and not panel.decode_text_button.isEnabled()
    assert panel.decode_sample_button.isEnabled()
    assert panel.sample_spin.maximum() == 23  # the run's validation images
    _set(panel.sample_spin, 5)
    qtbot.mouseClick(panel.decode_sample_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.decoded is not None, timeout=WAIT_MS)
    assert panel.decoded.image is not None and panel.image_label.isVisible()
    assert panel.decoded.references  # the true captions of validation image 5


def test_a_replayed_translator_run_decodes_a_typed_sentence(qtbot, window, runs):
    run_dir = _train("seq2seq_translator", runs / "numbers", train=256, validation=32, batch_size=64)
    window.workspace.open_run(str(run_dir))
    panel = _text_panel(window)
    assert panel.decode_box.isVisible() and panel.source_edit.isEnabled()
    assert panel.sample_spin.maximum() == 31
    panel.source_edit.setFocus()
    QTest.keyClicks(panel.source_edit, "four thousand seventeen")
    qtbot.mouseClick(panel.decode_text_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.decoded is not None, timeout=WAIT_MS)
    assert panel.decoded.image is None and not panel.image_label.isVisible()
    assert panel.decoded.source == "four thousand seventeen" and len(panel.decoded.beam) == 5
