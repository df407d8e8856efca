"""The Activations panel: what one node computes for one validation sample, and how its
outputs are distributed over training.

Left: the probed validation sample (picked with a spin box) and the node (a combo).
Right: the node's feature maps as one tiled image, its activation histogram over
time as an image (x = step, y = value, darker = more values), and the share of dead
(rectifier) or saturated (squashing) units per node from the newest probe.

The panel only draws a :class:`RunHistory`; picking a sample or a node emits
``sample_requested`` / ``node_requested`` so the app can ask the trainer (or, after a
run, the run inspector) for that data, which arrives through the history or through
:meth:`ActivationsPanel.show_feature_maps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from widgets.activations.bars import UnitShareBars
from widgets.activations.images import (
    DENSITY_LUT, FEATURE_LUT, display_image, feature_mosaic, histogram_image,
)
from widgets.image_grid import MosaicView
from widgets.imaging import GREY_LUT
from widgets.plot_style import BACKGROUND, style_plot
from widgets.theme import PLACEHOLDER_STYLE

if TYPE_CHECKING:
    from graph_engine.training.history import RunHistory

__all__ = ["ActivationsPanel", "display_image", "feature_mosaic", "histogram_image"]

#: the spin box's upper end while the number of validation samples is unknown
UNKNOWN_SAMPLE_COUNT = 10_000


class ActivationsPanel(QWidget):
    """Sample and node pickers, feature maps, histograms over time and dead/saturated bars.

    Signals:
        sample_requested(int): the user picked another validation sample index.
        node_requested(str): the user picked another node in the combo (the app asks
            for its feature maps when they are not probed yet).
    """

    sample_requested = Signal(int)
    node_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._seen_version = -1
        self._seen_steps: dict[str, int | None] = {}
        self._node: str | None = None
        #: (step, maps, sample, live feature-map step when it came) from a checkpoint
        self._override: tuple[int, dict[str, np.ndarray], np.ndarray, int] | None = None
        self._drawn: dict[str, Any] = {}

        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(0, UNKNOWN_SAMPLE_COUNT - 1)
        self.sample_spin.setKeyboardTracking(False)  # typed digits count once, on Enter
        self.sample_spin.setToolTip("Index of the validation sample whose feature maps are shown")
        self.sample_spin.valueChanged.connect(self.sample_requested.emit)
        self.node_combo = QComboBox()
        self.node_combo.setToolTip("Node whose activations are shown")
        self.node_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node_combo.setMinimumContentsLength(8)
        self.node_combo.currentIndexChanged.connect(self._on_combo)
        self.sample_view = MosaicView(BACKGROUND)
        self.sample_view.setMinimumSize(60, 60)
        self.sample_text = QLabel()
        self.sample_text.setWordWrap(True)
        self.sample_text.setStyleSheet(PLACEHOLDER_STYLE)
        self.sample_caption = QLabel()
        self.sample_caption.setStyleSheet(PLACEHOLDER_STYLE)
        self.sample_stack = QStackedWidget()
        self.sample_stack.addWidget(self.sample_view)
        self.sample_stack.addWidget(self.sample_text)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Sample", self.sample_spin)
        form.addRow("Node", self.node_combo)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.sample_stack, 1)
        left_layout.addWidget(self.sample_caption)
        left.setMaximumWidth(170)

        self.maps_title = QLabel()
        self.maps_title.setTextFormat(Qt.TextFormat.PlainText)
        self.maps_view = MosaicView(BACKGROUND)
        self.maps_view.resized.connect(self._draw_maps)
        self.maps_placeholder = QLabel()
        self.maps_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.maps_placeholder.setWordWrap(True)
        self.maps_placeholder.setStyleSheet(PLACEHOLDER_STYLE)
        self.maps_stack = QStackedWidget()
        self.maps_stack.addWidget(self.maps_view)
        self.maps_stack.addWidget(self.maps_placeholder)
        maps = QWidget()
        maps_layout = QVBoxLayout(maps)
        maps_layout.setContentsMargins(0, 0, 0, 0)
        maps_layout.setSpacing(2)
        maps_layout.addWidget(self.maps_title)
        maps_layout.addWidget(self.maps_stack, 1)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(left)
        top_layout.addWidget(maps, 1)

        self.histogram_plot = pg.PlotWidget(background=BACKGROUND)
        plot = self.histogram_plot.getPlotItem()
        style_plot(plot, left="value", bottom="step")
        plot.setMouseEnabled(x=False, y=False)
        plot.setTitle("")
        self.histogram_image = pg.ImageItem(axisOrder="row-major")
        self.histogram_image.setLookupTable(DENSITY_LUT)
        plot.addItem(self.histogram_image)
        self.histogram_title = QLabel()
        self.histogram_title.setTextFormat(Qt.TextFormat.PlainText)
        self.histogram_title.setToolTip("Each column is one probe: how many of the node's outputs fell "
                                        "at each value (darker = more, log scale)")

        self.unit_bars = UnitShareBars()
        self.bars = self.unit_bars.bars
        self.bars_plot = self.unit_bars.plot_widget
        self.bars_title = self.unit_bars.title

        bottom = QWidget()
        bottom_layout = QHBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(self.histogram_title)
        column.addWidget(self.histogram_plot, 1)
        bottom_layout.addLayout(column, 1)
        bottom_layout.addWidget(self.unit_bars, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        for widget in (self.histogram_plot, self.maps_view):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            widget.setMinimumHeight(80)
        for label in (self.maps_title, self.histogram_title):
            # a long title is clipped rather than widening a narrow dock
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._show_empty()

    # -- reading (the app and tests) --------------------------------------------------
    @property
    def current_node(self) -> str | None:
        return self._node

    @property
    def bar_nodes(self) -> list[str]:
        """Node ids of the dead / saturated bars, left to right."""
        return self.unit_bars.nodes

    def combo_nodes(self) -> list[str]:
        return [self.node_combo.itemData(i) for i in range(self.node_combo.count())]

    # -- feeding ----------------------------------------------------------------------
    def set_history(self, history: "RunHistory | None") -> None:
        """Draw this run (None clears); checkpoint feature maps shown before are dropped."""
        self._history = history
        self._seen_version = -1
        self._seen_steps = {}
        self._override = None
        self._drawn = {}
        self.refresh()

    def set_sample_count(self, count: int | None) -> None:
        """Limit the sample spin box to the validation set's size (None: unknown)."""
        top = (count if count and count > 0 else UNKNOWN_SAMPLE_COUNT) - 1
        with QSignalBlocker(self.sample_spin):
            self.sample_spin.setMaximum(top)

    def select_node(self, node_id: str) -> None:
        """Show ``node_id`` (the canvas selection changed); ids not in the combo are ignored.
        Emits nothing: the caller already knows which node it chose."""
        index = self.node_combo.findData(node_id)
        if index < 0 or node_id == self._node:
            return
        with QSignalBlocker(self.node_combo):
            self.node_combo.setCurrentIndex(index)
        self._node = node_id
        self._draw()

    def rename_node(self, old: str, new: str) -> None:
        """A node of the run was renamed in the document: the view keeps showing it."""
        if self._node == old:
            self._node = new
        if self._override is not None and old in self._override[1]:
            step, maps, sample, live_step = self._override
            self._override = (step, {new if n == old else n: m for n, m in maps.items()}, sample, live_step)
        self._seen_steps = {}

    def show_feature_maps(self, step: int, maps: dict[str, np.ndarray], sample: np.ndarray) -> None:
        """Feature maps computed from a checkpoint (after a run): shown instead of the live
        probe's until a live probe newer than the one shown now arrives."""
        live = self._history.probes.get("feature_maps") if self._history is not None else None
        live_step = live.step if live is not None else -1
        self._override = (int(step), dict(maps), np.asarray(sample), live_step)
        self._drawn.pop("maps", None)
        self._drawn.pop("sample", None)
        self._update_combo()
        self._draw()

    def refresh(self) -> None:
        """Redraw what changed since the last call (cheap when nothing did)."""
        history = self._history
        if history is None:
            if self._seen_version != -2:
                self._seen_version = -2
                self._show_empty()
            return
        if history.version == self._seen_version:
            return
        self._seen_version = history.version
        steps = {kind: (probe.step, id(probe)) if (probe := history.probes.get(kind)) else None
                 for kind in ("activations", "feature_maps", "probe_sample")}
        if steps == self._seen_steps:
            return
        self._seen_steps = steps
        override = self._override
        live = history.probes.get("feature_maps")
        if override is not None and live is not None and live.step > override[3]:
            self._override = None
        self._update_combo()
        self._draw()

    # -- what to show -----------------------------------------------------------------
    def _feature_source(self) -> tuple[int, dict[str, np.ndarray], np.ndarray | None, int | None] | None:
        """(step, maps, sample, sample index) from the checkpoint override or the live probe."""
        if self._override is not None:
            step, maps, sample, _ = self._override
            return step, maps, sample, self.sample_spin.value()
        history = self._history
        probe = history.probes.get("feature_maps") if history is not None else None
        if probe is None:
            return None
        sample = history.probes.get("probe_sample")
        if sample is None:
            return probe.step, probe.data, None, None
        return probe.step, probe.data, sample.data.get("input"), sample.data.get("index")

    def _node_ids(self) -> list[str]:
        ids: list[str] = []
        history = self._history
        if history is not None and (probe := history.probes.get("activations")) is not None:
            ids += list(probe.data)
        source = self._feature_source()
        if source is not None:
            ids += [node_id for node_id in source[1] if node_id not in ids]
        return ids

    def _update_combo(self) -> None:
        ids = self._node_ids()
        if ids != self.combo_nodes():
            with QSignalBlocker(self.node_combo):
                self.node_combo.clear()
                for node_id in ids:
                    self.node_combo.addItem(node_id, node_id)
        if self._node not in ids:
            source = self._feature_source()
            with_maps = [n for n in ids if source is not None and n in source[1]]
            self._node = (with_maps or ids or [None])[0]
        with QSignalBlocker(self.node_combo):
            self.node_combo.setCurrentIndex(self.node_combo.findData(self._node) if self._node else -1)

    def _on_combo(self, index: int) -> None:
        node_id = self.node_combo.itemData(index) if index >= 0 else None
        if node_id is None or node_id == self._node:
            return
        self._node = node_id
        self._draw()
        self.node_requested.emit(node_id)

    # -- drawing ----------------------------------------------------------------------
    def _show_empty(self) -> None:
        with QSignalBlocker(self.node_combo):
            self.node_combo.clear()
        self._node = None
        self._drawn = {}
        self.maps_title.setText("Feature maps")
        self.maps_placeholder.setText("Train the network to see what each layer computes.\n"
                                      "Feature maps, histograms and dead units appear at the first probe.")
        self.maps_stack.setCurrentWidget(self.maps_placeholder)
        self.sample_text.setText("no sample yet")
        self.sample_stack.setCurrentWidget(self.sample_text)
        self.sample_caption.setText("")
        self.histogram_image.clear()
        self.histogram_title.setText("Activation histogram over time")
        self.unit_bars.clear()

    def _draw(self) -> None:
        self._draw_sample()
        self._draw_maps()
        self._draw_histogram()
        self._draw_bars()

    def _changed(self, part: str, key: Any) -> bool:
        """True (and remember ``key``) when ``part`` must be redrawn for ``key``."""
        if self._drawn.get(part) == key:
            return False
        self._drawn[part] = key
        return True

    def _draw_sample(self) -> None:
        source = self._feature_source()
        sample, index = (source[2], source[3]) if source is not None else (None, None)
        if not self._changed("sample", (source[0] if source is not None else None, index, id(sample))):
            return
        if sample is None:
            self.sample_text.setText("no sample yet")
            self.sample_stack.setCurrentWidget(self.sample_text)
            self.sample_caption.setText("")
            return
        image, text = display_image(sample)
        if image is None:
            self.sample_text.setText(text)
            self.sample_stack.setCurrentWidget(self.sample_text)
        else:
            self.sample_view.show_image(image, GREY_LUT if image.ndim == 2 else None)
            self.sample_stack.setCurrentWidget(self.sample_view)
        shape = "×".join(str(n) for n in np.shape(sample))
        self.sample_caption.setText(f"sample {index} · {shape}" if index is not None else shape)

    def _draw_maps(self) -> None:
        source = self._feature_source()
        node = self._node
        maps = source[1].get(node) if source is not None and node is not None else None
        aspect = self.maps_view.aspect()
        key = (node, id(maps), source[0] if source is not None else None, aspect)
        if not self._changed("maps", key):
            return
        if maps is None:
            history = self._history
            waiting = history is not None and history.active
            self.maps_title.setText(f"{node} — feature maps" if node else "Feature maps")
            self.maps_placeholder.setText(
                "Train the network to see what each layer computes." if node is None else
                f"No feature maps of {node} yet: they appear at the next probe." if waiting else
                f"No feature maps of {node} in this run.")
            self.maps_stack.setCurrentWidget(self.maps_placeholder)
            return
        mosaic, keep_aspect = feature_mosaic(maps, aspect)
        self.maps_view.show_image(mosaic, FEATURE_LUT, keep_aspect)
        self.maps_stack.setCurrentWidget(self.maps_view)
        shape = np.shape(maps)
        units = f"{shape[0]} channels" if len(shape) > 1 else f"{shape[0]} units"
        origin = "checkpoint" if self._override is not None else "step"
        self.maps_title.setText(f"{node} — {units} · {origin} {source[0]}")

    def _draw_histogram(self) -> None:
        history, node = self._history, self._node
        series = history.histograms.get(node) if history is not None and node else None
        if not self._changed("histogram", (node, id(series), len(series) if series else 0)):
            return
        if not series:
            self.histogram_image.clear()
            self.histogram_title.setText(f"{node}: no activation statistics" if node
                                         else "Activation histogram over time")
            return
        image, rect = histogram_image(series)
        self.histogram_image.setImage(image, autoLevels=False, levels=(0, 255))
        self.histogram_image.setRect(rect)
        plot = self.histogram_plot.getPlotItem()
        plot.setXRange(rect.left(), rect.right(), padding=0)
        plot.setYRange(rect.top(), rect.bottom(), padding=0)
        self.histogram_title.setText(f"{node} activations over time")

    def _draw_bars(self) -> None:
        history = self._history
        probe = history.probes.get("activations") if history is not None else None
        if not self._changed("bars", (probe.step if probe is not None else None, id(probe), self._node)):
            return
        self.unit_bars.show_probe(probe, self._node)
