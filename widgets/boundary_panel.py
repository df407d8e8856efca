"""The Boundary panel: a two-feature classifier's plane, coloured by the class it predicts.

It draws the newest ``boundary`` probe of a run (sent at the probe interval and at each
epoch's end while the run trains, for any graph whose Input takes 2 features): every cell
of the plane in the colour of its predicted class, paler where the model is less sure, with
the training points over it in their true class's colour. "Hidden units" adds what each
hidden unit computes over the same plane, one small picture per unit, as TensorFlow
Playground shows its neurons (orange negative, white zero, blue positive).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from graph_engine.training.history import RunHistory
from widgets.image_grid import MosaicView, reserve_zero, tile
from widgets.imaging import class_color, gradient_lut, lut_with_background
from widgets.plot_style import BACKGROUND, style_plot
from widgets.theme import MUTED_STYLE

NO_RUN_TEXT = ("Train a graph whose Input takes 2 features (the Playground or Perceptron template, on blobs, "
               "xor, circles, moons or spiral) to see the plane coloured by the class it predicts.")
#: the two classes of the 2-D problems, as TensorFlow Playground colours them
TWO_CLASS_COLORS = ((245, 147, 34), (8, 119, 189))
#: how strongly a cell takes its class's colour: at the least and the most certainty
TINT = (0.12, 0.75)
#: a hidden unit's output: orange for negative, white for zero, blue for positive
UNIT_LUT = gradient_lut([TWO_CLASS_COLORS[0], "#ffffff", TWO_CLASS_COLORS[1]])
#: the gaps between the units' pictures (their zero is white)
UNIT_GAP = "#c8ccd2"


def boundary_color(index: int) -> tuple[int, int, int]:
    """Class colours of the plane and the points."""
    return TWO_CLASS_COLORS[index] if index < len(TWO_CLASS_COLORS) else class_color(index + 1)


def plane_rgb(predicted: np.ndarray, confidence: np.ndarray, classes: int) -> np.ndarray:
    """(R, R, 3) uint8: each cell its class's colour over white, stronger where more certain
    (a confidence of 1/classes, a coin toss, is the palest)."""
    colors = np.array([boundary_color(i) for i in range(max(classes, int(predicted.max()) + 1))], dtype=np.float64)
    floor = 1.0 / max(classes, 2)
    share = np.clip((confidence.astype(np.float64) / 255.0 - floor) / (1.0 - floor), 0.0, 1.0)
    alpha = (TINT[0] + (TINT[1] - TINT[0]) * share)[..., None]
    rgb = 255.0 * (1.0 - alpha) + colors[predicted] * alpha
    return rgb.round().astype(np.uint8)


class BoundaryPanel(QWidget):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._shown: tuple | None = None
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.show_units = QCheckBox("Hidden units")
        self.show_units.setToolTip("Each hidden unit's output over the same plane (orange negative, blue positive)")
        self.show_units.toggled.connect(lambda _on: self._redraw(force=True))
        self.message = QLabel(NO_RUN_TEXT)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(MUTED_STYLE + " padding: 16px;")

        self.plot = pg.PlotWidget(background=BACKGROUND)
        item = self.plot.getPlotItem()
        style_plot(item, left="feature 2 (standardised)", bottom="feature 1 (standardised)")
        item.setAspectLocked(True)
        item.setMouseEnabled(False, False)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#202020", width=1))
        item.addItem(self.points)
        self.units = MosaicView(background=BACKGROUND)  # tiles are split by grey gaps (UNIT_GAP)
        self.units.setMinimumHeight(90)
        self.units.hide()
        self.units_caption = QLabel()
        self.units_caption.setStyleSheet(MUTED_STYLE)
        self.units_caption.hide()

        drawn = QWidget()
        drawn_layout = QVBoxLayout(drawn)
        drawn_layout.setContentsMargins(0, 0, 0, 0)
        drawn_layout.addWidget(self.plot, 3)
        drawn_layout.addWidget(self.units_caption)
        drawn_layout.addWidget(self.units, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(drawn)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.show_units)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

    # -- the RunView protocol -------------------------------------------------------
    def set_history(self, history: RunHistory | None) -> None:
        self._history = history
        self._shown = None
        self.refresh()

    def refresh(self) -> None:
        self._redraw()

    # -- drawing --------------------------------------------------------------------
    def _redraw(self, force: bool = False) -> None:
        result = self._history.probes.get("boundary") if self._history is not None else None
        if result is None:
            self.stack.setCurrentWidget(self.message)
            self.caption.setText("")
            self._shown = None
            return
        key = (id(result), self.show_units.isChecked())
        if key == self._shown and not force:
            return
        self._shown = key
        self.show_boundary(result.data, result.step)

    def show_boundary(self, data: dict, step: int) -> None:
        """Draw one ``boundary`` probe result (see graph_engine.probes.boundary)."""
        self.stack.setCurrentIndex(1)
        labels = np.asarray(data["labels"], dtype=np.int64)
        classes = max(2, int(labels.max()) + 1 if len(labels) else 2)
        rgb = plane_rgb(np.asarray(data["predicted"], dtype=np.int64), np.asarray(data["confidence"]), classes)
        x0, x1, y0, y1 = data["extent"]
        self.image.setImage(rgb, autoLevels=False, levels=(0, 255))
        self.image.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        points = np.asarray(data["points"], dtype=np.float64)
        brushes = [pg.mkBrush(*boundary_color(int(k))) for k in labels]
        self.points.setData(points[:, 0], points[:, 1], brush=brushes)
        self.plot.getPlotItem().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.caption.setText(f"Step {step:,}: {data['train_accuracy']:.0%} of the {len(labels)} training points "
                             "on their class's side")
        self._show_units(data.get("hidden") or {})

    def _show_units(self, hidden: dict[str, np.ndarray]) -> None:
        wanted = self.show_units.isChecked() and bool(hidden)
        self.units.setVisible(wanted)
        self.units_caption.setVisible(wanted)
        if not wanted:
            return
        maps = [np.asarray(m) for m in hidden.values()]
        stack = np.concatenate(maps)[:, ::-1]  # the mosaic's rows go down; the plane's y goes up
        mosaic = tile(reserve_zero(stack), gap=4, aspect=max(self.units.aspect(), 2.0))
        self.units.show_image(mosaic, lut_with_background(UNIT_LUT, UNIT_GAP))
        self.units_caption.setText("Hidden units: " + ", ".join(f"{node} ({len(m)})" for node, m in hidden.items()))
