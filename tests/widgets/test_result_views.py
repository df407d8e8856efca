"""The result views driven with real runs: top-activating patches, evaluation, generated text.

The panels only emit intents; here the test plays the app's part, handing each intent
to a real RunInspector and its result back to the panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from app.run_inspector import JobError, PatchDetail, RunInspector
from graph_engine import load_template
from graph_engine.analysis import analyze
from graph_engine.probes.patches import TopPatches
from graph_engine.training.history import RunHistory
from tests.app.test_run_inspector import tiny_char_graph, train
from widgets.evaluation_panel import (
    ERROR_COLOR, MAX_COUNTED_CLASSES, EvaluationPanel, class_color, share_color,
)
from widgets.patches_panel import BAND_CHANNELS, PatchesPanel
from widgets.text_panel import TextPanel
from tests.qt_helpers import show_widget
from tests.timing import deadline_ms

#: a job on a real checkpoint; stretched by the machine's measured slowdown (tests/timing.py)
WAIT_MS = deadline_ms(30_000)


# -- runs and glue ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, RunHistory]:
    run_dir = tmp_path_factory.mktemp("views") / "digits"
    return run_dir, train(load_template("digits_cnn"), run_dir, epochs=2)


@pytest.fixture(scope="module")
def chars(tmp_path_factory) -> tuple[Path, RunHistory]:
    run_dir = tmp_path_factory.mktemp("views") / "chars"
    return run_dir, train(tiny_char_graph(), run_dir, epochs=1, batch_size=2048, learning_rate=0.02)


@pytest.fixture
def inspector(qtbot):
    inspector = RunInspector()
    yield inspector
    inspector.shutdown()


def shown(qtbot, widget, width: int, height: int):
    return show_widget(qtbot, widget, width, height)


def deliver(show, error):
    """The app's glue: a job's result to ``show``, a JobError's one line to ``error``."""
    def callback(result) -> None:
        if isinstance(result, JobError):
            error(str(result))
        elif isinstance(result, tuple):
            show(*result)
        else:
            show(result)
    return callback


def dataset_size(run_dir: Path) -> int:
    info = json.loads((run_dir / "dataset.json").read_text())
    return info["train"] + info["validation"]


def spatial_nodes(graph) -> list[tuple[str, str]]:
    analysis = analyze(graph)
    nodes = []
    for node_id, node in graph.nodes.items():
        info = analysis.info(node_id)
        if info.out_shape is not None and len(info.out_shape) == 3 and info.field is not None \
                and node.type == "Conv2d":
            nodes.append((node_id, f"{node_id} — {node.type} {'×'.join(map(str, info.out_shape))}"))
    return nodes


def best_step(history: RunHistory) -> int:
    """The step of the best checkpoint, which the inspector opens."""
    return next(e["step"] for e in history.epochs if e["epoch"] == history.best_epoch)


def color_at(image: QImage, point: QPoint) -> tuple[int, int, int]:
    color = image.pixelColor(point)
    return color.red(), color.green(), color.blue()


# -- patches -------------------------------------------------------------------------------
@pytest.fixture
def patches(qtbot, inspector, digits):
    """A patches panel wired to a real inspector over the digits run."""
    run_dir, _ = digits
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    graph = load_template("digits_cnn")
    panel.set_nodes(spatial_nodes(graph))

    def request(node_id: str) -> None:
        panel.show_busy(f"Finding the top patches of {node_id}…")
        inspector.top_patches(run_dir, node_id, deliver(
            lambda top: panel.show_patches(top, images=dataset_size(run_dir)), panel.show_error))

    def clicked(node_id: str, channel: int, rank: int) -> None:
        top = panel.top
        inspector.patch_detail(run_dir, node_id, channel, int(top.sample_indices[channel, rank]),
                               tuple(int(v) for v in top.boxes[channel, rank]),
                               float(top.values[channel, rank]),
                               deliver(panel.show_detail, panel.show_error))

    panel.patches_requested.connect(request)
    panel.patch_clicked.connect(clicked)
    return panel


def choose_node(qtbot, panel: PatchesPanel, node_id: str) -> None:
    """Pick ``node_id`` in the layer combo with the keyboard, as a user would."""
    combo = panel.node_combo
    combo.setFocus()
    target = combo.findData(node_id)
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        QTest.keyClick(combo, key)


def test_choosing_a_layer_shows_nine_patches_for_every_channel(qtbot, patches, digits):
    run_dir, history = digits
    assert [patches.node_combo.itemData(i) for i in range(patches.node_combo.count())] == \
        ["conv1", "conv2", "conv3"]
    with qtbot.waitSignal(patches.patches_requested) as requested:
        choose_node(qtbot, patches, "conv2")
    assert requested.args == ["conv2"]
    assert patches.busy_bar.isVisible() and "conv2" in patches.status.text()
    qtbot.waitUntil(lambda: patches.top is not None, timeout=WAIT_MS)
    top = patches.top
    channels = analyze(load_template("digits_cnn")).info("conv2").out_shape[0]
    grid = patches.grid
    assert (grid.channel_count, grid.k, grid.tile_count) == (channels, 9, channels * 9)
    assert patches.status.text() == f"conv2: top 9 of 1,797 images per channel, as of step {top.step}"
    assert top.step == best_step(history)
    assert not patches.busy_bar.isVisible()
    qtbot.waitUntil(lambda: grid.built_bands >= 1)
    assert grid.built_bands < -(-channels // BAND_CHANNELS)  # only the bands in view are made

    # every tile shows its own patch: the grabbed pixels are the patch's, enlarged
    picture = grid.grab().toImage()
    ph, pw = top.patches.shape[3:5]
    for channel, rank in ((0, 0), (7, 4), (channels - 1, 8)):
        rect = grid.tile_rect(channel, rank)
        assert rect.width() == pw * (rect.width() // pw) and rect.width() >= 24
        scale = rect.width() // pw
        for y, x in ((0, 0), (ph - 1, pw - 1), (ph // 2, pw // 3)):
            value = int(top.patches[channel, rank, 0, y, x])
            point = rect.topLeft() + QPoint(x * scale + scale // 2, y * scale + scale // 2)
            assert color_at(picture, point) == (value, value, value)


def test_a_click_on_a_patch_shows_it_in_its_image(qtbot, patches):
    patches.show_button.click()
    qtbot.waitUntil(lambda: patches.top is not None, timeout=WAIT_MS)
    top, grid = patches.top, patches.grid
    channel, rank = 12, 4
    rect = grid.tile_rect(channel, rank)
    patches.scroll.ensureVisible(rect.center().x(), rect.center().y(), 0, rect.height())
    with qtbot.waitSignal(patches.patch_clicked) as clicked:
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=rect.center())
    assert clicked.args == [top.node_id, channel, rank]
    assert patches.selected == (channel, rank)

    # between two tiles there is nothing to click
    gap = QPoint(rect.right() + 2, rect.center().y())
    with qtbot.assertNotEmitted(patches.patch_clicked):
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=gap)

    qtbot.waitUntil(lambda: patches.detail.image is not None, timeout=WAIT_MS)
    view = patches.detail
    caption = re.fullmatch(r"sample (\d+), channel (\d+), activation ([-\d.e+]+)", patches.caption.text())
    assert caption, patches.caption.text()
    assert int(caption[1]) == int(top.sample_indices[channel, rank])
    assert int(caption[2]) == channel
    assert float(caption[3]) == pytest.approx(float(top.values[channel, rank]), rel=5e-3)
    assert view.image.shape == (1, 8, 8) and view.activation.shape[0] > 1
    assert view.unit == tuple(int(v) for v in top.positions[channel, rank])
    image_rect, box_rect = view.image_rect, view.box_rect
    assert not box_rect.isEmpty() and image_rect.contains(box_rect)
    scale = image_rect.width() / 8
    y0, x0, y1, x1 = (int(v) for v in top.boxes[channel, rank])
    assert box_rect.left() == pytest.approx(image_rect.left() + max(0, x0) * scale)
    assert box_rect.bottom() == pytest.approx(image_rect.top() + min(8, y1) * scale)
    assert ("reaches past the image border" in patches.note.text()) == view.box_clipped()
    # the box is drawn on the image: its edge pixels are the box colour
    picture = view.grab().toImage()
    edge = QPoint(int(box_rect.left()) + 1, int(box_rect.center().y()))
    assert color_at(picture, edge) == (255, 112, 0)
    # the patch again at full resolution, cut from its sample (the grid's is downscaled)
    y0c, x0c = max(0, y0), max(0, x0)
    height, width = min(8, y1 - y0), min(8, x1 - x0)
    assert view.crop is not None and view.crop.shape == (1, height, width)
    if y0 >= 0 and x0 >= 0 and y1 <= 8 and x1 <= 8:  # inside the image: the crop is that part of it
        part = view.image[:, y0c:y0c + height, x0c:x0c + width].astype(np.float64)
        stretched = (part - part.min()) / max(1e-9, np.ptp(part)) * 255
        assert np.abs(stretched - view.crop).max() <= 1
    crop_rect = view.crop_rect
    assert not crop_rect.isEmpty() and not crop_rect.intersects(view.image_rect) \
        and not crop_rect.intersects(view.map_rect)
    cell = crop_rect.width() / width
    for row, col in ((0, 0), (height - 1, width - 1)):
        point = QPoint(int(crop_rect.left() + (col + 0.5) * cell), int(crop_rect.top() + (row + 0.5) * cell))
        value = int(view.crop[0, row, col])
        assert color_at(picture, point) == (value, value, value)


def test_a_field_reaching_past_the_border_is_drawn_clipped(qtbot):
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    image = np.arange(64, dtype=np.uint8).reshape(1, 8, 8) * 4
    panel.show_detail(PatchDetail(image, (-2, 5, 4, 11), np.zeros((4, 4), np.uint8), 17, 3, 2.5))
    view = panel.detail
    assert view.box_clipped() and "reaches past the image border" in panel.note.text()
    assert view.image_rect.contains(view.box_rect)
    scale = view.image_rect.width() / 8
    assert view.box_rect.top() == pytest.approx(view.image_rect.top())
    assert view.box_rect.right() == pytest.approx(view.image_rect.right())
    assert view.box_rect.height() == pytest.approx(4 * scale)
    assert panel.caption.text() == "sample 17, channel 3, activation 2.5"


def test_a_failed_patches_job_reaches_the_panel_as_one_line(qtbot, inspector, digits):
    run_dir, _ = digits
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    panel.set_nodes([("fc1", "fc1 — Linear 64")])
    panel.patches_requested.connect(lambda node_id: inspector.top_patches(
        run_dir, node_id, deliver(panel.show_patches, panel.show_error)))
    panel.show_busy("Finding the top patches of fc1…")
    qtbot.mouseClick(panel.show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status.property("error") is True, timeout=WAIT_MS)
    text = panel.status.text()
    assert "fc1" in text and "feature maps" in text and "\n" not in text
    assert panel.top is None and not panel.busy_bar.isVisible()


def random_top(channels: int = 64, k: int = 9) -> TopPatches:
    """TopPatches of an RGB layer with ``channels`` channels of 11×11 fields."""
    rng = np.random.default_rng(0)
    return TopPatches(node_id="conv9", step=1200, values=np.sort(rng.random((channels, k)))[:, ::-1].copy(),
                      sample_indices=rng.integers(0, 5000, (channels, k)),
                      positions=rng.integers(0, 8, (channels, k, 2)),
                      boxes=np.tile(np.array([0, 0, 11, 11]), (channels, k, 1)),
                      patches=rng.integers(0, 256, (channels, k, 3, 11, 11), dtype=np.uint8))


def test_sixty_four_channels_build_only_the_bands_in_view(qtbot):
    top = random_top()
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    panel.show_patches(top)
    grid = panel.grid
    assert grid.tile_count == 576
    assert panel.status.text() == "conv9: top 9 per channel, as of step 1,200"
    qtbot.waitUntil(lambda: grid.built_bands == 1)
    panel.scroll.verticalScrollBar().setValue(panel.scroll.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: grid.built_bands == 2)  # the first band and the last, none between
    # an RGB patch is drawn in colour
    picture = grid.grab().toImage()
    rect = grid.tile_rect(63, 8)
    scale = rect.width() // 11
    point = rect.topLeft() + QPoint(5 * scale, 3 * scale)
    assert color_at(picture, point) == tuple(int(v) for v in top.patches[63, 8, :, 3, 5])


def test_the_scale_choice_shares_one_scale_per_row(qtbot):
    """"per row" redraws the grid with one scale for each channel's patches (issue 16): a
    patch whose values span a tenth of its row's range is drawn faint."""
    from graph_engine.probes.patches import scaled_patches

    top = random_top(channels=4, k=3)
    top.ranges = np.tile(np.array([0.0, 1.0], np.float32), (4, 3, 1))
    top.ranges[:, 1] = (0.0, 0.1)  # rank 1 of every channel: faint
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    panel.show_patches(top)
    grid = panel.grid
    rect = grid.tile_rect(2, 1)
    scale = rect.width() // 11
    point = rect.topLeft() + QPoint(5 * scale, 3 * scale)
    assert color_at(grid.grab().toImage(), point) == tuple(int(v) for v in top.patches[2, 1, :, 3, 5])
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData("row"))
    assert grid.scale == "row"
    expected = scaled_patches(top, "row")[2, 1, :, 3, 5]
    assert color_at(grid.grab().toImage(), point) == tuple(int(v) for v in expected)
    assert expected.max() <= 26  # a tenth of the row's range


def test_the_keyboard_walks_the_grid_and_shows_a_patch(qtbot):
    panel = shown(qtbot, PatchesPanel(), 600, 450)
    panel.show_patches(random_top())
    grid = panel.grid
    grid.setFocus()
    QTest.keyClick(grid, Qt.Key.Key_Down)
    assert panel.selected == (0, 0)
    for _ in range(40):
        QTest.keyClick(grid, Qt.Key.Key_Down)
    QTest.keyClick(grid, Qt.Key.Key_Right)
    QTest.keyClick(grid, Qt.Key.Key_Right)
    assert panel.selected == (40, 2)
    viewport = panel.scroll.viewport()
    shown_rect = grid.tile_rect(40, 2).translated(grid.pos())
    assert viewport.rect().contains(shown_rect)  # scrolled into view
    with qtbot.waitSignal(panel.patch_clicked) as clicked:
        QTest.keyClick(grid, Qt.Key.Key_Return)
    assert clicked.args == ["conv9", 40, 2]
    panel.clear()
    assert panel.top is None and grid.tile_count == 0 and panel.detail.image is None


# -- evaluation -----------------------------------------------------------------------------
def test_the_confusion_matrix_of_a_real_run(qtbot, digits):
    run_dir, history = digits
    panel = shown(qtbot, EvaluationPanel(), 450, 400)
    assert panel.mode == "message"
    panel.set_history(history)
    assert panel.mode == "confusion"
    probe = history.probes["confusion"]
    view = panel.confusion
    np.testing.assert_array_equal(view.matrix, probe.data["matrix"])
    validation = json.loads((run_dir / "dataset.json").read_text())["validation"]
    assert view.matrix.sum() == validation == 360
    assert len(view.bar_values) == 10 and view.bar_values == pytest.approx(probe.data["per_class_accuracy"])
    assert view.class_names == [str(i) for i in range(10)] and view.shows_counts
    epoch = history.epochs[-1]
    right = int(np.trace(view.matrix))
    assert panel.caption.text() == (f"Accuracy {right / 360 * 100:.1f}% ({right} of 360 validation samples), "
                                    f"after epoch {epoch['epoch']} (step {epoch['step']})")
    picture = view.grab().toImage()
    matrix = view.matrix
    for i, j in ((0, 0), (3, 3), (8, 1), (2, 7)):
        corner = view.cell_rect(i, j).topLeft().toPoint() + QPoint(2, 2)
        expected = share_color(matrix[i, j] / matrix[i].sum())
        assert color_at(picture, corner) == (expected.red(), expected.green(), expected.blue())
    track = view._track(4)
    assert view.bar_rect(4).width() == pytest.approx(track.width() * view.bar_values[4])


def test_evaluation_redraws_only_when_its_probe_changes(qtbot, monkeypatch):
    history = RunHistory()
    history.apply({"type": "started", "run_dir": "/tmp/x", "task": "classification", "dataset": "d",
                   "device": "cpu", "steps_per_epoch": 10, "total_steps": 20})
    panel = shown(qtbot, EvaluationPanel(), 450, 400)
    panel.set_history(history)
    assert panel.mode == "message" and "end of the first epoch" in panel.message.text()
    drawn = []
    original = panel.confusion.set_confusion
    monkeypatch.setattr(panel.confusion, "set_confusion", lambda *a: (drawn.append(a), original(*a)))
    matrix = np.array([[5, 1, 0], [0, 3, 3], [0, 0, 0]])
    history.apply({"type": "probe", "kind": "confusion", "step": 10,
                   "data": {"matrix": matrix, "per_class_accuracy": [5 / 6, 0.5, None],
                            "class_names": ["cat", "dog", "hamster"]}})
    panel.refresh()
    panel.refresh()
    assert len(drawn) == 1 and panel.mode == "confusion"
    assert panel.caption.text() == "Accuracy 66.7% (8 of 12 validation samples), at step 10"
    history.apply({"type": "step", "step": 11, "epoch": 2, "loss": 0.5, "lr": 0.1, "time": 1.0})
    panel.refresh()
    assert len(drawn) == 1
    history.apply({"type": "probe", "kind": "confusion", "step": 20,
                   "data": {"matrix": matrix * 2, "per_class_accuracy": [5 / 6, 0.5, None],
                            "class_names": ["cat", "dog", "hamster"]}})
    panel.refresh()
    assert len(drawn) == 2 and panel.confusion.matrix.sum() == 24
    assert panel.confusion.bar_values[2] is None and panel.confusion.bar_rect(2).width() == 0


def test_many_classes_drop_the_counts_but_keep_every_bar(qtbot):
    classes = MAX_COUNTED_CLASSES + 10
    rng = np.random.default_rng(1)
    matrix = rng.integers(0, 5, (classes, classes)) + np.eye(classes, dtype=np.int64) * 40
    history = RunHistory(task="classification")
    history.apply({"type": "probe", "kind": "confusion", "step": 3, "data": {"matrix": matrix}})
    panel = shown(qtbot, EvaluationPanel(), 450, 400)
    panel.set_history(history)
    assert not panel.confusion.shows_counts and len(panel.confusion.bar_values) == classes
    assert panel.confusion.class_names[-1] == str(classes - 1)


def segmentation_history(mean_iou: float | None = 0.456) -> tuple[RunHistory, dict]:
    rng = np.random.default_rng(2)
    true = np.zeros((16, 16), dtype=np.int64)
    true[2:8, 3:9] = 1
    true[10:15, 9:15] = 3
    predicted = true.copy()
    predicted[2:5, 3:9] = 2   # 18 wrong pixels
    data = {"image": rng.random((3, 16, 16)).astype(np.float32), "predicted": predicted, "true": true}
    history = RunHistory()
    history.apply({"type": "started", "run_dir": "/tmp/s", "task": "segmentation",
                   "dataset": "shapes-segmentation", "device": "cpu", "steps_per_epoch": 10, "total_steps": 30})
    history.apply({"type": "probe", "kind": "segmentation", "step": 10, "data": data})
    val = {"loss": 0.3, "pixel_accuracy": 0.9} | ({"mean_iou": mean_iou} if mean_iou is not None else {})
    history.apply({"type": "epoch", "epoch": 1, "step": 10, "time": 2.0, "lr": 0.01, "best": True,
                   "val": val})
    return history, data


def test_segmentation_masks_side_by_side_in_class_colours(qtbot):
    history, data = segmentation_history()
    panel = shown(qtbot, EvaluationPanel(), 450, 400)
    panel.set_history(history)
    assert panel.mode == "segmentation"
    right = 1 - 18 / 256
    assert panel.caption.text() == (f"Mean IoU 0.456 on the validation set, this image: {right * 100:.1f}% "
                                    "of pixels right; after epoch 1 (step 10)")
    view = panel.segmentation
    assert view.classes == [0, 1, 2, 3]
    rects = view.picture_rects()
    assert len(rects) == 4 and all(r.width() >= 64 for r in rects)
    picture = view.grab().toImage()
    scale = rects[1].width() / 16

    def pixel(rect, y, x):
        point = QPoint(int(rect.left() + (x + 0.5) * scale), int(rect.top() + (y + 0.5) * scale))
        return color_at(picture, point)

    for y, x, in ((3, 4), (6, 5), (12, 11), (0, 0)):
        assert pixel(rects[1], y, x) == class_color(int(data["predicted"][y, x]))
        assert pixel(rects[2], y, x) == class_color(int(data["true"][y, x]))
    assert pixel(rects[1], 6, 5) == pixel(rects[2], 6, 5) == class_color(1)  # same class, same colour
    assert pixel(rects[3], 3, 4) == ERROR_COLOR and pixel(rects[3], 12, 11) != ERROR_COLOR


def test_segmentation_without_an_epoch_metric_and_other_tasks(qtbot):
    history, _ = segmentation_history(mean_iou=None)
    panel = shown(qtbot, EvaluationPanel(), 450, 400)
    panel.set_history(history)
    assert panel.caption.text().startswith("This image: 93.0% of pixels right")
    for task in ("regression", "language_model"):
        panel.set_history(RunHistory(task=task, status="finished"))
        assert panel.mode == "message" and not panel.caption.isVisible()
        assert panel.message.text().lower().startswith("no evaluation view for this task")
    panel.set_history(RunHistory(task="classification", status="finished"))
    assert "has no confusion matrix" in panel.message.text()
    panel.set_history(None)
    assert panel.mode == "message" and "Train a classifier" in panel.message.text()


# -- text -------------------------------------------------------------------------------
def type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def test_generate_emits_the_values_typed_in(qtbot):
    panel = shown(qtbot, TextPanel(), 450, 400)
    assert (panel.prompt_edit.text(), panel.temperature_spin.value(), panel.beam_spin.value(),
            panel.length_spin.value()) == ("The ", 0.8, 0, 300)
    assert not panel.generate_button.isEnabled()
    panel.set_history(RunHistory(task="language_model"))
    assert panel.generate_button.isEnabled()
    type_into(qtbot, panel.prompt_edit, "def ")
    type_into(qtbot, panel.temperature_spin.lineEdit(), "1.3")
    type_into(qtbot, panel.length_spin.lineEdit(), "120")
    with qtbot.waitSignal(panel.generate_requested) as requested:
        qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert requested.args == ["def ", 120, pytest.approx(1.3), 0]
    type_into(qtbot, panel.beam_spin.lineEdit(), "4")
    assert not panel.temperature_spin.isEnabled()  # beam search does not sample
    with qtbot.waitSignal(panel.generate_requested) as requested:
        QTest.keyClick(panel.prompt_edit, Qt.Key.Key_Return)
    assert requested.args == ["def ", 120, pytest.approx(1.3), 4]
    assert panel.caption == "Generating 120 characters (beam search, width 4)…"


def test_generate_is_off_for_other_tasks(qtbot, digits):
    _, history = digits
    panel = shown(qtbot, TextPanel(), 450, 400)
    panel.set_history(history)
    button = panel.generate_button
    assert not button.isEnabled() and "classification" in button.toolTip()
    assert "needs a character model" in panel.caption
    with qtbot.assertNotEmitted(panel.generate_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        QTest.keyClick(panel.prompt_edit, Qt.Key.Key_Return)


def test_text_from_a_real_character_run(qtbot, inspector, chars, digits):
    run_dir, history = chars
    panel = shown(qtbot, TextPanel(), 450, 400)
    panel.set_history(history)
    panel.generate_requested.connect(lambda prompt, length, temperature, beam: inspector.generate(
        run_dir, prompt, length, temperature, beam, deliver(panel.show_generated, panel.show_error)))
    step = best_step(history)
    type_into(qtbot, panel.length_spin.lineEdit(), "60")
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.output.toPlainText() != "", timeout=WAIT_MS)
    text = panel.output.toPlainText()
    assert text.startswith("The ") and len(text) == 4 + 60
    assert panel.caption == f"Sampled at temperature 0.8, from the checkpoint at step {step}"

    type_into(qtbot, panel.beam_spin.lineEdit(), "3")
    type_into(qtbot, panel.length_spin.lineEdit(), "30")
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.caption.startswith("Beam search"), timeout=WAIT_MS)
    assert panel.caption == f"Beam search, width 3, from the checkpoint at step {step}"
    assert len(panel.output.toPlainText()) == 4 + 30

    # the same request against a run that is no character model fails on one line
    digits_dir, _ = digits
    inspector.generate(digits_dir, "The ", 10, 0.8, 0, deliver(panel.show_generated, panel.show_error))
    qtbot.waitUntil(lambda: "not a character model" in panel.caption, timeout=WAIT_MS)
    assert "\n" not in panel.caption and "c62828" in panel.status.styleSheet()


def test_samples_during_training_newest_first(qtbot, chars, monkeypatch):
    _, trained = chars
    (first,) = trained.samples
    later = (first[0] + 50, "import ", "os.path\n<b>not bold</b> & more")
    history = RunHistory(task="language_model")
    panel = shown(qtbot, TextPanel(), 450, 400)
    panel.set_history(history)
    assert panel.sample_count == 0 and panel.samples_view.toPlainText() == ""
    rebuilt = []
    original = panel._show_samples
    monkeypatch.setattr(panel, "_show_samples", lambda: (rebuilt.append(1), original()))
    for step, prompt, text in (first, later):
        history.apply({"type": "probe", "kind": "samples", "step": step,
                       "data": {"prompt": prompt, "text": text, "temperature": 0.8}})
    history.apply({"type": "step", "step": 99, "epoch": 3, "loss": 1.0, "lr": 0.1, "time": 3.0})
    panel.refresh()
    panel.refresh()
    assert len(rebuilt) == 1 and panel.sample_count == 2
    shown_text = panel.samples_view.toPlainText()
    (old_step, old_prompt, old_text), (new_step, new_prompt, new_text) = first, later
    assert shown_text.index(f"after step {new_step}") < shown_text.index(f"after step {old_step}")
    assert (new_prompt + new_text) in shown_text and (old_prompt + old_text) in shown_text
