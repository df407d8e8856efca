"""The Activations, Filters and Network-health panels drawing a real digits run, and the
training overlays (badges, bars) on the canvas, driven through real key and mouse events."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph_engine import Graph, load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory
from widgets.activations_panel import ActivationsPanel, feature_mosaic, histogram_image
from widgets.canvas import NODE_WIDTH, GraphScene, GraphView
from widgets.filters_panel import FILTER_LUT, FiltersPanel, filter_mosaic
from widgets.health_panel import HealthPanel
from widgets.image_grid import grid_columns, reserve_zero, tile, tile_at
from tests.qt_helpers import at, show_widget
from tests.widgets.test_canvas import small_graph


# -- a real run, shared by the panel tests -------------------------------------------------
@pytest.fixture(scope="module")
def digits_history(tmp_path_factory) -> RunHistory:
    """Two epochs of the digits CNN with a probe every 4 steps (never mutate: copy first)."""
    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=2, probe_every=4, probe_unit="steps")
    history = RunHistory()
    run_dir = Path(tmp_path_factory.mktemp("digits")) / "run"
    Trainer(graph, load_dataset_for(graph, settings), settings, history.apply, run_dir).run()
    assert history.status == "finished"
    return history


def _copy(history: RunHistory) -> RunHistory:
    return copy.deepcopy(history)


def _panel(qtbot, cls, history=None, size=(600, 450)):
    panel = show_widget(qtbot, cls(), *size)
    if history is not None:
        panel.set_history(history)
    return panel


def _probe(history: RunHistory, kind: str, data, step: int | None = None) -> None:
    history.apply({"type": "probe", "kind": kind, "step": history.step + 1 if step is None else step,
                   "data": data})


# -- image grid ------------------------------------------------------------------------------
def test_tile_places_images_with_gaps_and_finds_them_again():
    images = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3) + 1
    mosaic = tile(images, columns=3, gap=1, background=0)
    assert mosaic.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert (mosaic[0:2, 4:7] == images[1]).all()
    assert (mosaic[3:5, 0:3] == images[3]).all()
    assert (mosaic[2] == 0).all() and (mosaic[3:5, 8:] == 0).all()  # gap row, empty cell
    assert tile_at(3, 5, 5, 3, (2, 3)) == 4
    assert tile_at(2, 5, 5, 3, (2, 3)) is None and tile_at(4, 9, 5, 3, (2, 3)) is None
    colour = tile(np.zeros((2, 2, 2, 3), dtype=np.uint8), columns=2, gap=2, background=(9, 8, 7), scale=3)
    assert colour.shape == (6, 14, 3)
    assert tuple(colour[0, 6]) == (9, 8, 7)
    assert grid_columns(32, 8, 8, aspect=2.0) == 8
    with pytest.raises(ValueError):
        tile(np.zeros((2, 2, 2), dtype=np.float32))


def test_histogram_image_rebins_old_ranges_and_bounds_its_width():
    narrow = np.zeros(32)
    narrow[31] = 50.0                       # values near 1.0 in the range (0, 1)
    wide = np.zeros(32)
    wide[0] = 50.0
    image, rect = histogram_image([(10, narrow, (0.0, 1.0)), (20, wide, (0.0, 2.0))])
    assert image.shape == (32, 2)
    assert image[15, 0] == 255 and image[:, 0].sum() == 255     # moved into the wider range
    assert image[0, 1] == 255
    assert (rect.left(), rect.width(), rect.top(), rect.height()) == (10.0, 10.0, 0.0, 2.0)
    long = [(step, wide, (0.0, 2.0)) for step in range(1000)]
    image, rect = histogram_image(long, max_columns=400)
    assert image.shape == (32, 400) and rect.width() == 999.0


# -- Activations panel --------------------------------------------------------------------------
def test_activations_panel_draws_the_run(qtbot, digits_history):
    history = digits_history
    panel = _panel(qtbot, ActivationsPanel, history)
    activations = history.probes["activations"].data
    maps = history.probes["feature_maps"].data
    assert panel.combo_nodes() == list(activations) == [
        "conv1", "relu1", "conv2", "relu2", "pool1", "conv3", "relu3", "pool2", "flatten", "dropout",
        "fc1", "relu4", "fc2"]
    assert panel.current_node == "conv1" and panel.node_combo.currentText() == "conv1"

    image = panel.maps_view.image
    assert panel.maps_stack.currentWidget() is panel.maps_view
    assert image.image.dtype == np.uint8
    expected, _ = feature_mosaic(maps["conv1"], panel.maps_view.aspect())
    assert image.image.shape == expected.shape
    columns = grid_columns(32, 16, 16, panel.maps_view.aspect())   # 8×8 maps enlarged ×2
    rows = math.ceil(32 / columns)
    assert expected.shape == (rows * 17 - 1, columns * 17 - 1)
    assert list(image.levels) == [0, 255] and image.lut.shape == (256, 3)
    assert "conv1 — 32 channels · step" in panel.maps_title.text()

    sample = panel.sample_view.image.image
    assert sample.shape == (8, 8) and sample.dtype == np.uint8 and sample.max() == 255
    assert panel.sample_caption.text() == "sample 0 · 1×8×8"

    histograms = history.histograms["conv1"]
    hist_image = panel.histogram_image.image
    assert hist_image.shape == (32, len(histograms)) and hist_image.max() == 255
    rect = panel.histogram_image.boundingRect()
    assert panel.histogram_image.mapRectToParent(rect).left() == pytest.approx(histograms[0][0])
    assert panel.histogram_image.mapRectToParent(rect).right() == pytest.approx(histograms[-1][0])

    rectifiers = [n for n, e in activations.items() if "dead_fraction" in e]
    assert panel.bar_nodes == rectifiers == ["relu1", "relu2", "relu3", "relu4"]
    heights = panel.bars.opts["height"]
    assert len(heights) == 4
    for height, node_id in zip(heights, rectifiers):
        assert height == pytest.approx(max(activations[node_id]["dead_fraction"], 0.005))


def test_sample_spin_box_keys_emit_sample_requested(qtbot, digits_history):
    panel = _panel(qtbot, ActivationsPanel, digits_history)
    spin = panel.sample_spin
    spin.setFocus()
    with qtbot.waitSignal(panel.sample_requested) as blocker:
        QTest.keyClick(spin, Qt.Key.Key_Up)
    assert blocker.args == [1]
    spin.selectAll()
    with qtbot.waitSignal(panel.sample_requested) as blocker:
        QTest.keyClicks(spin, "42")
        QTest.keyClick(spin, Qt.Key.Key_Return)
    assert blocker.args == [42]
    assert spin.maximum() == 9999
    panel.set_sample_count(360)
    assert spin.maximum() == 359


def _choose(combo, text: str) -> None:
    """Pick ``text`` in the combo by typing it (the combo's keyboard search), after a pause
    long enough to start a new search."""
    QTest.qWait(QApplication.keyboardInputInterval() + 20)
    combo.setFocus()
    QTest.keyClicks(combo, text)


def test_choosing_a_node_requests_it_and_shows_its_maps(qtbot, digits_history):
    panel = _panel(qtbot, ActivationsPanel, digits_history)
    before = panel.maps_view.image.image.shape
    requested = []
    panel.node_requested.connect(requested.append)
    _choose(panel.node_combo, "conv3")     # the keyboard search may pass conv2 on the way
    assert requested[-1] == "conv3" and set(requested) <= {"conv2", "conv3"}
    assert panel.current_node == "conv3"
    maps = digits_history.probes["feature_maps"].data["conv3"]
    assert maps.shape == (64, 4, 4)
    after = panel.maps_view.image.image.shape
    assert after != before
    assert after == feature_mosaic(maps, panel.maps_view.aspect())[0].shape
    assert panel.histogram_image.image.shape[1] == len(digits_history.histograms["conv3"])

    # a node without feature maps asks for them and says so meanwhile
    _choose(panel.node_combo, "relu4")
    assert requested[-1] == "relu4"
    assert panel.maps_stack.currentWidget() is panel.maps_placeholder
    assert "relu4" in panel.maps_placeholder.text()
    # the selected node's bar is outlined
    pens = panel.bars.opts["pens"]
    assert pens[3].widthF() == 2 and pens[0].widthF() != 2


def test_select_node_follows_the_canvas_quietly(qtbot, digits_history):
    panel = _panel(qtbot, ActivationsPanel, digits_history)
    with qtbot.assertNotEmitted(panel.node_requested):
        panel.select_node("conv2")
        panel.select_node("no-such-node")
    assert panel.current_node == "conv2" and panel.node_combo.currentText() == "conv2"


def test_checkpoint_feature_maps_override_until_a_newer_probe(qtbot, digits_history):
    history = _copy(digits_history)
    panel = _panel(qtbot, ActivationsPanel, history)
    live = panel.maps_view.image.image.shape
    maps = {"conv1": np.full((4, 8, 8), 200, dtype=np.uint8)}
    sample = np.linspace(0, 1, 64).reshape(1, 8, 8)
    panel.show_feature_maps(999, maps, sample)
    shown = panel.maps_view.image.image
    assert shown.shape == feature_mosaic(maps["conv1"], panel.maps_view.aspect())[0].shape != live
    assert "checkpoint 999" in panel.maps_title.text()
    panel.refresh()  # nothing new: the override stays
    assert panel.maps_view.image.image.shape == shown.shape
    _probe(history, "feature_maps", digits_history.probes["feature_maps"].data)
    panel.refresh()
    assert panel.maps_view.image.image.shape == live
    assert "checkpoint" not in panel.maps_title.text()


def test_token_input_is_shown_as_text(qtbot, digits_history):
    history = _copy(digits_history)
    panel = _panel(qtbot, ActivationsPanel, history)
    _probe(history, "probe_sample", {"index": 3, "input": np.arange(20), "target": np.array(1)})
    panel.refresh()
    assert panel.sample_stack.currentWidget() is panel.sample_text
    assert panel.sample_text.text() == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …] (20 values)"


def test_activations_panel_without_a_run(qtbot):
    panel = _panel(qtbot, ActivationsPanel, RunHistory())
    assert panel.combo_nodes() == []
    assert panel.maps_stack.currentWidget() is panel.maps_placeholder
    assert panel.bar_nodes == []


# -- Filters panel ---------------------------------------------------------------------------
def test_filters_panel_draws_the_first_layer(qtbot, digits_history):
    history = _copy(digits_history)
    panel = _panel(qtbot, FiltersPanel, history)
    probe = history.probes["filters"]
    filters = probe.data["filters"]
    assert filters.shape == (32, 1, 3, 3)
    image = panel.view.image
    expected, shown = filter_mosaic(filters, panel.view.aspect())
    assert shown == 1
    assert image.image.shape == expected.shape
    columns = grid_columns(32, 24, 24, panel.view.aspect())      # 3×3 kernels enlarged ×8
    assert expected.shape[1] == columns * 24 + (columns - 1) * 4
    assert list(image.levels) == [0, 255]
    assert image.lut is FILTER_LUT and image.lut.shape == (256, 3)
    # gaps draw the tinted background, a zero weight (128) mid-grey
    assert (image.image == 0).any() and tuple(FILTER_LUT[0]) == (0xD6, 0xE0, 0xF0)
    zero = reserve_zero(np.array([128], dtype=np.uint8))[0]
    assert all(abs(int(c) - 128) <= 1 for c in FILTER_LUT[zero])
    assert probe.data["node"] == "conv1"
    assert panel.title.text().startswith(f"conv1 filters at step {probe.step} "
                                         "(grey = 0, light = positive, dark = negative)")
    drawn = image.image
    panel.refresh()
    assert image.image is drawn          # same step: not redrawn
    _probe(history, "filters", {"filters": np.full((8, 3, 5, 5), 128, dtype=np.uint8), "node": "stem"})
    panel.refresh()
    assert image.image is not drawn and image.image.ndim == 3      # 3 inputs: colour tiles
    assert panel.title.text().startswith(f"stem filters at step {history.step + 1} ")


def test_filters_with_several_inputs_put_kernels_side_by_side():
    filters = np.full((6, 2, 3, 3), 128, dtype=np.uint8)
    mosaic, shown = filter_mosaic(filters, aspect=1.0)
    assert shown == 2
    kernel = 24
    tile_width = 2 * kernel + 1
    columns = grid_columns(6, kernel, tile_width, 1.0)
    assert mosaic.shape[1] == columns * tile_width + (columns - 1) * 4
    assert (mosaic[0, kernel] == 0)          # the 1-px gap between a filter's two kernels
    many, shown = filter_mosaic(np.zeros((2, 20, 3, 3), dtype=np.uint8))
    assert shown == 8


# -- Health panel ----------------------------------------------------------------------------
def test_health_panel_plots_every_layer(qtbot, digits_history):
    history = digits_history
    panel = _panel(qtbot, HealthPanel, history)
    assert list(panel.norm_curves) == list(panel.ratio_curves) == list(history.gradients) == [
        "conv1", "conv2", "conv3", "fc1", "fc2"]
    for node_id, series in history.gradients.items():
        x, y = panel.norm_curves[node_id].getOriginalDataset()
        assert len(x) == len(y) == len(series)
        assert np.allclose(y, series.column("norm"))
        x, y = panel.ratio_curves[node_id].getOriginalDataset()
        assert len(y) == len(series) and np.allclose(y, series.column("ratio"))
        assert panel.norm_curves[node_id].opts["pen"].widthF() in (0.0, 1.0)
    colors = {curve.opts["pen"].color().name() for curve in panel.norm_curves.values()}
    assert len(colors) == 5
    for node_id in history.gradients:
        assert node_id in panel.legend.text()
    assert panel.norm_plot.getPlotItem().getAxis("left").logMode
    assert panel.reference.value() == pytest.approx(-3.0)
    assert panel.reference.label.toPlainText() == "healthy ≈ 1e-3"
    assert not panel.banner.isVisible()
    healthy = panel.flag_list.topLevelItem(0)
    assert panel.flags == [] and healthy.text(0) == "No problems found."


def test_clicking_a_flag_activates_its_node(qtbot, digits_history):
    history = _copy(digits_history)
    activations = copy.deepcopy(history.probes["activations"].data)
    activations["relu2"]["dead_fraction"] = 0.83
    _probe(history, "activations", activations)
    panel = _panel(qtbot, HealthPanel, history)
    assert [f.node_id for f in panel.flags] == ["relu2"]
    item = panel.flag_list.topLevelItem(0)
    assert item.text(0) == "relu2: 83 % of units dead (ReLU outputs all zero)"
    rect = panel.flag_list.visualItemRect(item)
    with qtbot.waitSignal(panel.node_activated) as blocker:
        QTest.mouseClick(panel.flag_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["relu2"]


def test_a_nan_stop_shows_a_banner_and_a_non_finite_flag(qtbot, digits_history):
    history = _copy(digits_history)
    panel = _panel(qtbot, HealthPanel, history)
    message = "non-finite values (NaN) first appear in the output of 'conv2' (Conv2d) at step 47"
    history.apply({"type": "failed", "message": message, "node": "conv2", "step": 47, "epoch": 2})
    panel.refresh()
    assert panel.banner.isVisible()
    assert message in panel.banner.text()
    assert panel.flags[0].node_id == "conv2" and panel.flags[0].kind == "non_finite"
    assert panel.flag_list.topLevelItem(0).text(0).startswith("conv2: non-finite values")


def test_health_refresh_is_cheap_when_nothing_changed(qtbot, digits_history):
    history = _copy(digits_history)
    panel = _panel(qtbot, HealthPanel, history)
    curve = panel.norm_curves["conv1"]
    x_before = curve.getOriginalDataset()[0]
    panel.refresh()
    assert curve.getOriginalDataset()[0] is x_before
    norms = {n: 0.5 for n in history.gradients}
    _probe(history, "gradients", {"norms": norms, "update_ratios": {n: 1e-3 for n in norms}})
    panel.refresh()
    assert len(curve.getOriginalDataset()[0]) == len(x_before) + 1


# -- canvas overlays -------------------------------------------------------------------------
def _small_graph() -> Graph:
    graph = small_graph()
    graph.connect("conv", "relu")
    return graph


@pytest.fixture
def canvas(qtbot):
    graph = _small_graph()
    view = GraphView()
    scene = GraphScene(graph, parent=view)
    view.setScene(scene)
    show_widget(qtbot, view, 900, 500)
    yield graph, scene, view
    scene.detach()


def test_badges_sit_on_their_nodes_and_are_replaced(canvas):
    graph, scene, view = canvas
    scene.set_node_badges({"conv": ("dead", "conv: 83 % of units dead"),
                           "relu": ("non_finite", "relu: NaN"), "ghost": ("dead", "not on the canvas")})
    conv, relu = scene.node_item("conv"), scene.node_item("relu")
    badge = scene.node_badge("conv")
    assert badge.parentItem() is conv and badge.isVisible() and badge.scene() is scene
    assert badge.toolTip() == "conv: 83 % of units dead"
    corner = conv.mapToScene(QPointF(NODE_WIDTH, 0.0))
    centre = badge.mapToScene(QPointF(0.0, 0.0))
    assert abs(centre.x() - corner.x()) <= 8 and abs(centre.y() - corner.y()) <= 8
    assert not badge.severe and scene.node_badge("relu").severe
    assert scene.node_badge("ghost") is None and scene.node_badge("image") is None
    # the scene shows the badge's tooltip where the badge is
    assert scene.itemAt(centre, view.transform()) is badge

    scene.set_node_badges({"relu": ("vanishing", "relu: gradient norm 3.0e-9 — vanishing")})
    assert scene.node_badge("conv") is None
    assert badge.scene() is None and badge.parentItem() is None
    assert scene.node_badge("relu").parentItem() is relu
    assert scene.node_badge("relu").kind == "vanishing" and not scene.node_badge("relu").severe
    assert scene.node_badge("relu").toolTip() == "relu: gradient norm 3.0e-9 — vanishing"


def test_bars_fill_to_their_fraction_at_the_bottom_of_the_node(canvas):
    graph, scene, view = canvas
    scene.set_node_bars({"relu": (0.25, "25 % dead"), "conv": (1.7, "‖g‖ 3.0e+3")})
    relu = scene.node_item("relu")
    bar = scene.node_bar("relu")
    assert bar.parentItem() is relu and bar.isVisible()
    assert bar.pos() == QPointF(0.0, relu.height)
    track, fill = bar.track_rect(), bar.fill_rect()
    assert fill.width() == pytest.approx(0.25 * track.width())
    assert relu.mapRectToScene(relu.boundingRect()).contains(bar.mapRectToScene(track))
    assert bar.toolTip() == "25 % dead" and bar.text == "25 % dead"
    assert scene.node_bar("conv").fraction == 1.0         # clamped
    scene.set_node_bars({"relu": (0.5, "50 % dead")})
    assert scene.node_bar("relu") is bar and bar.fraction == 0.5
    assert scene.node_bar("conv") is None


def test_overlays_follow_moves_and_size_changes(canvas):
    graph, scene, view = canvas
    scene.set_node_badges({"add": ("dead", "add")})
    scene.set_node_bars({"add": (0.4, "40 %")})
    add = scene.node_item("add")
    graph.move_node("add", (400.0, 300.0))
    assert scene.node_badge("add").scenePos() == QPointF(400.0, 300.0) + scene.node_badge("add").pos()
    height = add.height
    graph.connect("image", "add", 0)
    graph.connect("conv", "add", 1)
    graph.connect("relu", "add", 2)
    assert add.height > height
    assert scene.node_bar("add").pos() == QPointF(0.0, add.height)


class _Delete(QUndoCommand):
    """Delete a node, as the app's command does: one model call each way."""

    def __init__(self, graph: Graph, node_id: str):
        super().__init__(f"Delete {node_id}")
        self.graph, self.node_id = graph, node_id
        self.node, self.edges = graph.node(node_id), []

    def redo(self) -> None:
        self.node, self.edges = self.graph.remove_node(self.node_id)

    def undo(self) -> None:
        self.graph.add_node(self.node)
        for edge in self.edges:
            self.graph.add_edge(edge)


def test_overlays_survive_undo_and_redo_of_a_delete(canvas):
    graph, scene, view = canvas
    scene.set_node_badges({"conv": ("exploding", "conv: gradient norm 2.0e+4 — exploding")})
    scene.set_node_bars({"conv": (0.9, "‖g‖ 2.0e+4")})
    stack = QUndoStack()
    stack.push(_Delete(graph, "conv"))
    assert scene.node_item("conv") is None
    assert scene.node_badge("conv") is None and scene.node_bar("conv") is None
    stack.undo()
    conv = scene.node_item("conv")
    assert conv is not None
    badge, bar = scene.node_badge("conv"), scene.node_bar("conv")
    assert badge.parentItem() is conv and badge.toolTip() == "conv: gradient norm 2.0e+4 — exploding"
    assert bar.parentItem() is conv and bar.fraction == pytest.approx(0.9)
    assert badge.severe
    stack.redo()
    assert scene.node_badge("conv") is None
    stack.undo()
    assert scene.node_badge("conv").parentItem() is scene.node_item("conv")


def test_a_click_on_a_badge_selects_the_node_and_clear_removes_everything(qtbot, canvas):
    graph, scene, view = canvas
    scene.set_node_badges({"conv": ("dead", "dead units")})
    scene.set_node_bars({"conv": (0.5, "50 % dead"), "relu": (0.1, "10 % dead")})
    badge = scene.node_badge("conv")
    point = badge.mapToScene(QPointF(-3.0, 3.0))        # on the badge, over the node body
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at(view, point))
    assert scene.selected_node_ids() == ["conv"]
    bars = [scene.node_bar("conv"), scene.node_bar("relu")]
    scene.clear_overlays()
    assert scene.node_badge("conv") is None and scene.node_bar("relu") is None
    assert badge.scene() is None and all(bar.scene() is None for bar in bars)
    graph.remove_node("conv")
    graph.create_node("Conv2d", {"out_channels": 6, "kernel_size": 5}, node_id="conv")
    assert scene.node_badge("conv") is None    # cleared marks do not come back
