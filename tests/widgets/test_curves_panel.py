"""The curves panel drawing real digits runs, driven through real mouse and key events
(offscreen; see tests/conftest.py)."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, runs, settings_from_dict
from widgets.best_result import best_result
from graph_engine.training.history import RunHistory
from widgets.curves import Ema, ema
from widgets.curves.axes import duration_text, step_text
from widgets.curves_panel import EMPTY_TEXT, WAITING_TEXT, CurvesPanel
from tests.qt_helpers import show_widget

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)",
                                       extend=True)


# -- real runs --------------------------------------------------------------------------
def train(run_dir: Path, **overrides) -> list[dict]:
    """Every event of a short digits run (the run folder is written too)."""
    graph = load_template("digits_cnn")
    # no probes and no best checkpoint: the curves need neither, and the test stays quick
    settings = settings_from_dict(graph.training, probe_every=10**6, probe_unit="steps",
                                  keep_best=False, **overrides)
    events: list[dict] = []
    Trainer(graph, load_dataset_for(graph, settings), settings, events.append, run_dir).run()
    return events


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """(current, earlier): two 2-epoch runs that differ in learning rate and batch size."""
    root = tmp_path_factory.mktemp("runs")
    current, earlier = root / "digits-current", root / "digits-earlier"
    pytest.current_events = train(current, epochs=2, learning_rate=0.001, batch_size=64)
    train(earlier, epochs=2, learning_rate=0.01, batch_size=128)
    return current, earlier


@pytest.fixture
def events(run_dirs) -> list[dict]:
    return pytest.current_events


def live_history(events: list[dict], run_dir: Path, count: int | None = None) -> RunHistory:
    """A history fed the run's events, as the app's bridge feeds it (settings included)."""
    history = RunHistory()
    history.apply_all(events[:count])
    history.settings = runs.read_json(run_dir / "settings.json")
    return history


def reference_ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """The debiased EMA, one value at a time."""
    smoothed, out = 0.0, []
    for k, value in enumerate(values, start=1):
        smoothed = alpha * smoothed + (1 - alpha) * value
        out.append(smoothed / (1 - alpha ** k))
    return np.asarray(out)


@pytest.fixture
def panel(qtbot):
    return show_widget(qtbot, CurvesPanel(), 700, 520)


@pytest.fixture
def shown(panel, events, run_dirs):
    """The panel showing the finished current run."""
    history = live_history(events, run_dirs[0])
    panel.set_history(history)
    return panel, history


def data(item) -> tuple[np.ndarray, np.ndarray]:
    x, y = item.getOriginalDataset()
    return (np.empty(0), np.empty(0)) if x is None else (np.asarray(x), np.asarray(y))


def readout(panel: CurvesPanel) -> str:
    """The readout as a person reads it (no markup, plain spaces)."""
    return html.unescape(re.sub(r"<[^>]+>", "", panel.readout.text())).replace("\xa0", " ")


def viewport_point(panel: CurvesPanel, plot, x: float, y: float) -> QPoint:
    """Where the data point (x, y) of ``plot`` lies in the plot widget's viewport."""
    scene_point = plot.vb.mapViewToScene(QPointF(x, y))
    return panel.plot_widget.mapFromScene(scene_point)


# -- smoothing and axis text, no Qt -----------------------------------------------------------
def test_ema_extended_in_pieces_equals_the_one_pass_reference():
    values = np.random.default_rng(0).random(5000)
    for alpha in (0.0, 0.6, 0.9, 0.999):
        smoother = Ema(alpha)
        pieces = np.concatenate([smoother.extend(values[:7]), smoother.extend(values[7:4000]),
                                 smoother.extend(values[4000:])])
        np.testing.assert_allclose(pieces, reference_ema(values, alpha), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        Ema(1.0)


def test_ema_skips_non_finite_losses():
    values = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0])
    smoothed = ema(values, 0.5)
    assert np.isnan(smoothed[[2, 4]]).all()
    np.testing.assert_allclose(smoothed[[0, 1, 3, 5]], reference_ema(np.array([1.0, 2, 3, 4]), 0.5))


def test_axis_text():
    assert [duration_text(s) for s in (12, 12.5, 65, 3723)] == ["12 s", "12.5 s", "1:05", "1:02:03"]
    assert duration_text(0, clock=True) == "0:00"
    assert [step_text(s) for s in (950, 25000, 1_500_000)] == ["950", "25k", "1.5M"]


# -- drawing a run ----------------------------------------------------------------------------
def test_empty_state_says_how_to_get_curves(panel):
    assert panel.empty_label.isVisible()
    assert panel.empty_label.text() == EMPTY_TEXT
    assert not panel.plot_widget.isVisible()
    panel.set_history(RunHistory())
    assert panel.empty_label.text() == WAITING_TEXT
    rejected = RunHistory()
    rejected.apply({"type": "rejected", "message": "the graph has errors"})
    panel.set_history(rejected)
    assert panel.empty_label.text() == "This run recorded no training steps (rejected)"
    panel.set_history(None)
    assert panel.empty_label.text() == EMPTY_TEXT


def test_curves_receive_the_runs_points(shown):
    panel, history = shown
    assert panel.plot_widget.isVisible() and not panel.empty_label.isVisible()
    steps, loss = history.steps.column("step"), history.steps.column("loss")
    assert len(steps) == 2 * history.steps_per_epoch
    x, y = data(panel.raw_curve)
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_array_equal(y, loss)
    x, y = data(panel.smooth_curve)
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_allclose(y, reference_ema(loss, 0.9), rtol=1e-12)
    np.testing.assert_array_equal(data(panel.lr_curve)[1], history.steps.column("lr"))
    # validation: one point per epoch, at the step the epoch ended
    x, y = data(panel.val_loss_curve)
    spe = history.steps_per_epoch
    assert list(x) == [e["step"] for e in history.epochs] == [spe, 2 * spe]
    assert list(y) == [e["val"]["loss"] for e in history.epochs]
    assert history.headline == ("accuracy", True)
    x, y = data(panel.metric_curve)
    assert list(y) == [e["val"]["accuracy"] for e in history.epochs]
    assert panel.metric_plot.getAxis("left").labelText == "accuracy"
    last = history.epochs[-1]["val"]
    assert readout(panel).startswith(f"step {history.step} · epoch 2.00 · ")
    assert f"val loss {last['loss']:.4g}" in readout(panel)
    assert f"accuracy {last['accuracy']:.4g}" in readout(panel)


def test_best_epoch_is_marked(shown):
    panel, history = shown
    best = next(e for e in history.epochs if e["epoch"] == history.best_epoch)
    assert panel.best_marker.isVisible()
    assert panel.best_marker.value() == best["step"]
    assert panel.best_marker.label.toPlainText() == "best"
    x, y = data(panel.best_point)
    assert list(x) == [best["step"]] and list(y) == [best["val"]["accuracy"]]


def test_x_mode_switches_every_curve(qtbot, shown):
    panel, history = shown
    panel.x_mode_combo.setFocus()
    QTest.keyClick(panel.x_mode_combo, Qt.Key.Key_Down)  # step → epoch
    assert panel.x_mode == "epoch"
    spe = history.steps_per_epoch
    np.testing.assert_allclose(data(panel.raw_curve)[0], history.steps.column("step") / spe)
    assert data(panel.raw_curve)[0][-1] == 2.0
    assert list(data(panel.val_loss_curve)[0]) == [1.0, 2.0]
    assert panel.best_marker.value() == history.best_epoch
    assert panel.lr_plot.getAxis("bottom").labelText == "epoch"

    QTest.keyClick(panel.x_mode_combo, Qt.Key.Key_Down)  # epoch → wall time
    assert panel.x_mode == "time"
    np.testing.assert_array_equal(data(panel.smooth_curve)[0], history.steps.column("time"))
    np.testing.assert_array_equal(data(panel.metric_curve)[0], history.epoch_times())
    assert panel.lr_plot.getAxis("bottom").labelText == "wall time"

    panel.set_x_mode("step")
    np.testing.assert_array_equal(data(panel.lr_curve)[0], history.steps.column("step"))
    with pytest.raises(ValueError):
        panel.set_x_mode("minutes")


def test_log_y_checkbox_toggles_the_loss_axis(qtbot, shown):
    panel, history = shown
    qtbot.mouseClick(panel.log_y_check, Qt.MouseButton.LeftButton)
    assert panel.log_y
    assert panel.raw_curve.opts["logMode"][1] and panel.val_loss_curve.opts["logMode"][1]
    assert panel.loss_plot.getAxis("left").logMode
    displayed = panel.raw_curve.getData()[1]
    np.testing.assert_allclose(displayed, np.log10(history.steps.column("loss")))
    assert not panel.metric_curve.opts["logMode"][1]  # only the loss plot
    qtbot.mouseClick(panel.log_y_check, Qt.MouseButton.LeftButton)
    assert not panel.log_y and not panel.raw_curve.opts["logMode"][1]


def test_slider_changes_smoothing(qtbot, shown):
    panel, history = shown
    slider = panel.smoothing_slider
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key.Key_End)
    assert panel.smoothing == 0.999 and panel.smoothing_label.text() == "0.999"
    loss = history.steps.column("loss")
    np.testing.assert_allclose(data(panel.smooth_curve)[1], reference_ema(loss, 0.999), rtol=1e-10)
    QTest.keyClick(slider, Qt.Key.Key_Home)
    assert panel.smoothing == 0.0 and panel.smoothing_label.text() == "0.000"
    np.testing.assert_allclose(data(panel.smooth_curve)[1], loss)
    panel.set_smoothing(0.5)
    assert slider.value() == 500
    np.testing.assert_allclose(data(panel.smooth_curve)[1], reference_ema(loss, 0.5), rtol=1e-12)


def test_refresh_extends_the_curves_incrementally(qtbot, panel, events, run_dirs):
    first_epoch_end = next(i for i, e in enumerate(events) if e["type"] == "epoch")
    history = live_history(events, run_dirs[0], first_epoch_end - 5)
    panel.set_history(history)
    shown_steps = len(history.steps)
    assert len(data(panel.raw_curve)[0]) == shown_steps > 0
    assert len(data(panel.val_loss_curve)[0]) == 0
    assert not panel.best_marker.isVisible()

    redraws: list[object] = []
    panel.raw_curve.sigPlotChanged.connect(redraws.append)
    panel.refresh()  # nothing new: nothing redrawn
    assert redraws == []

    history.apply_all(events[first_epoch_end - 5:])
    panel.refresh()
    assert len(redraws) == 1
    loss = history.steps.column("loss")
    assert len(loss) > shown_steps
    np.testing.assert_array_equal(data(panel.raw_curve)[1], loss)
    # the EMA went on from where it stopped and matches one pass over everything
    np.testing.assert_allclose(data(panel.smooth_curve)[1], reference_ema(loss, 0.9), rtol=1e-12)
    assert len(data(panel.val_loss_curve)[0]) == len(history.epochs) == 2
    assert panel.best_marker.isVisible()


def test_earlier_runs_list_and_overlay(qtbot, shown, run_dirs):
    panel, history = shown
    current_dir, earlier_dir = run_dirs
    history.run_dir = current_dir
    earlier = RunHistory.from_run_dir(earlier_dir)
    # the current run's own folder, listed among the project's runs, is left out
    panel.set_earlier_runs([earlier, RunHistory.from_run_dir(current_dir)])
    runs_list = panel.runs_list
    assert runs_list.isVisible() and runs_list.topLevelItemCount() == 1
    item = runs_list.topLevelItem(0)
    assert runs_list.difference(0) == "lr 1e-3 → 1e-2, batch_size 64 → 128"
    epoch, metrics = best_result(earlier)  # the epoch of lowest validation loss, as metrics.jsonl says
    assert item.text(0).startswith(f"digits-earlier  —  best accuracy {100 * metrics['accuracy']:.1f} % at epoch {epoch}\n")
    assert item.text(0).endswith("\nlr 1e-3 → 1e-2, batch_size 64 → 128")
    assert "learning_rate: 0.01" in item.toolTip(0) and "optimizer: adam" in item.toolTip(0)
    assert panel.overlay_items == {}

    qtbot.waitUntil(lambda: runs_list.viewport().height() > runs_list.visualItemRect(item).bottom() > 0)
    rect = runs_list.visualItemRect(item)
    option = QStyleOptionViewItem()
    option.initFrom(runs_list)
    option.rect = rect
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    check = runs_list.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator,
                                             option, runs_list)
    qtbot.mouseClick(runs_list.viewport(), Qt.MouseButton.LeftButton, pos=check.center())
    assert item.checkState(0) == Qt.CheckState.Checked
    assert list(panel.overlay_items) == [earlier_dir]
    items = panel.overlay_items[earlier_dir]
    np.testing.assert_array_equal(data(items["loss"])[0], earlier.steps.column("step"))
    np.testing.assert_allclose(data(items["loss"])[1], reference_ema(earlier.steps.column("loss"), 0.9),
                               rtol=1e-12)
    np.testing.assert_array_equal(data(items["lr"])[1], earlier.steps.column("lr"))
    assert list(data(items["metric"])[1]) == [e["val"]["accuracy"] for e in earlier.epochs]
    assert items["loss"] in panel.loss_plot.items and items["metric"] in panel.metric_plot.items
    assert items["loss"].opts["pen"].color().name() == items["metric"].opts["pen"].color().name()
    assert items["loss"].opts["pen"].color().name() != panel.smooth_curve.opts["pen"].color().name()

    # hovering the loss plot reads the overlaid run's smoothed loss at the same step too
    step = 20
    QTest.mouseMove(panel.plot_widget.viewport(), viewport_point(panel, panel.loss_plot, step, 1.0))
    earlier_smoothed = data(items["loss"])[1][step - 1]
    assert f"digits-earlier {earlier_smoothed:.4g}" in readout(panel)

    panel.set_x_mode("epoch")  # overlays follow the x mode
    earlier_epoch_length = len(earlier.steps) / 2  # a replayed folder: from its epoch records
    np.testing.assert_allclose(data(items["loss"])[0], earlier.steps.column("step") / earlier_epoch_length)
    qtbot.mouseClick(runs_list.viewport(), Qt.MouseButton.LeftButton, pos=check.center())
    assert panel.overlay_items == {}
    assert items["loss"] not in panel.loss_plot.items


def test_a_damaged_earlier_run_is_listed_as_damaged_with_the_reason(qtbot, shown, run_dirs, tmp_path):
    panel, history = shown
    history.run_dir = run_dirs[0]
    broken = tmp_path / "digits-broken"
    broken.mkdir()
    good_line = '{"type": "step", "step": 1, "epoch": 1, "loss": 2.0, "lr": 0.001, "time": 0.1}'
    (broken / "metrics.jsonl").write_text(good_line + '\n{"type": "step", "step": 2}\n', encoding="utf-8")
    panel.set_earlier_runs([RunHistory.from_run_dir(run_dirs[1]), RunHistory.from_run_dir(broken)])
    runs_list = panel.runs_list
    assert runs_list.topLevelItemCount() == 2
    assert "damaged" not in runs_list.topLevelItem(0).text(0)
    item = runs_list.topLevelItem(1)
    reason = "metrics.jsonl line 2: a step record without 'epoch'"
    assert item.text(0).splitlines()[0] == f"digits-broken  —  damaged: {reason}"
    assert reason in item.toolTip(0)


def test_hover_shows_the_values_under_the_mouse(qtbot, shown):
    panel, history = shown
    panel.plot_widget.scene().update()
    qtbot.wait(10)
    index = 30
    step = history.steps.column("step")[index]
    loss = history.steps.column("loss")[index]
    smoothed = data(panel.smooth_curve)[1][index]
    QTest.mouseMove(panel.plot_widget.viewport(), viewport_point(panel, panel.loss_plot, step, loss))
    text = readout(panel)
    assert text.startswith(f"step {step:.0f} · epoch {step / history.steps_per_epoch:.2f} · ")
    assert f"loss {loss:.4g}" in text and f"EMA {smoothed:.4g}" in text
    assert all(line.isVisible() and line.value() == step for line in panel.hover_lines)
    dots_x, dots_y = data(panel.hover_points[0])
    assert list(dots_y[:2]) == [loss, smoothed] and dots_x[0] == step

    epoch = history.epochs[1]
    qtbot.wait(50)  # Qt folds a second synthetic move that follows at once into the first
    QTest.mouseMove(panel.plot_widget.viewport(),
                    viewport_point(panel, panel.metric_plot, epoch["step"] - 3, epoch["val"]["accuracy"]))
    qtbot.waitUntil(lambda: readout(panel).startswith("epoch"), timeout=2000)
    text = readout(panel)
    assert text.startswith(f"epoch 2 · step {epoch['step']} · ")
    assert f"accuracy {epoch['val']['accuracy']:.4g}" in text
    assert panel.hover_lines[0].value() == epoch["step"]

    QTest.mouseMove(panel.x_mode_combo)  # leaving the plots restores the latest values
    qtbot.waitUntil(lambda: not panel.hover_lines[0].isVisible(), timeout=1000)
    assert readout(panel).startswith(f"step {history.step} · ")
    assert math.isfinite(float(panel.smoothing_label.text()))


@pytest.mark.parametrize("alpha", [1e-200, 1e-9, 0.3, 0.9, 0.999, 0.99999])
@pytest.mark.parametrize("length", [1, 2, 15, 16, 17, 4097])
def test_the_numpy_scan_equals_lfilter(alpha, length):
    """The first-order recursion without scipy (whose import cost 0.78 s of start-up) gives
    lfilter's values, from any start state, for blocks that do and do not divide the length."""
    from scipy.signal import lfilter

    from widgets.curves.smoothing import first_order_scan

    values = np.random.default_rng(length).normal(2.0, 1.0, length)
    expected, _ = lfilter([1.0], [1.0, -alpha], values, zi=[alpha * 0.7])
    np.testing.assert_allclose(first_order_scan(values, alpha, 0.7), expected, rtol=1e-12, atol=1e-12)
