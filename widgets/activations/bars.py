"""The Activations panel's bar plot: the share of dead (rectifier) or saturated (squashing)
units of each node in the newest probe, with the threshold at which a node is flagged."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from graph_engine.training.health import DEAD_FRACTION, SATURATED_FRACTION
from widgets.plot_style import AXIS_COLOR, BACKGROUND, style_plot

DEAD_COLOR = "#f59e0b"
SATURATED_COLOR = "#8b5cf6"
SELECTED_PEN = "#111827"
EMPTY_TITLE = "Dead / saturated units"


class UnitShareBars(QWidget):
    """A title above one bar per node (dead or saturated share), the chosen node outlined."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background=BACKGROUND)
        plot = self.plot_widget.getPlotItem()
        style_plot(plot, left="share of units")
        plot.setMouseEnabled(x=False, y=False)
        plot.setYRange(0.0, 1.0, padding=0.02)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        plot.addItem(self.bars)
        threshold = pg.InfiniteLine(pos=DEAD_FRACTION, angle=0,
                                    pen=pg.mkPen(AXIS_COLOR, width=1, style=Qt.PenStyle.DashLine))
        threshold.setToolTip(f"flagged at {DEAD_FRACTION:.0%} dead or {SATURATED_FRACTION:.0%} saturated")
        plot.addItem(threshold)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        # a long title is clipped rather than widening a narrow dock
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot_widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plot_widget.setMinimumHeight(80)
        #: node ids of the bars, left to right
        self.nodes: list[str] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.title)
        column.addWidget(self.plot_widget, 1)
        plot.getViewBox().sigResized.connect(self._update_ticks)

    def clear(self) -> None:
        self.bars.setOpts(x=[], height=[])
        self.nodes = []
        self.plot_widget.getPlotItem().getAxis("bottom").setTicks([[]])
        self.title.setText(EMPTY_TITLE)

    def show_probe(self, probe: Any, selected: str | None) -> None:
        """Bars of an ``activations`` probe (None: none), ``selected`` outlined."""
        rows = []
        for node_id, entry in (probe.data.items() if probe is not None else ()):
            if entry.get("dead_fraction") is not None:
                rows.append((node_id, float(entry["dead_fraction"]), DEAD_COLOR))
            elif entry.get("saturated_fraction") is not None:
                rows.append((node_id, float(entry["saturated_fraction"]), SATURATED_COLOR))
        self.nodes = [row[0] for row in rows]
        plot = self.plot_widget.getPlotItem()
        if not rows:
            self.bars.setOpts(x=[], height=[])
            plot.getAxis("bottom").setTicks([[]])
            self.title.setText("No rectifier or squashing layers")
            return
        x = np.arange(len(rows), dtype=np.float64)
        heights = np.array([max(row[1], 0.005) for row in rows])  # a zero still shows a sliver
        brushes = [pg.mkBrush(row[2]) for row in rows]
        pens = [pg.mkPen(SELECTED_PEN, width=2) if row[0] == selected else pg.mkPen(row[2])
                for row in rows]
        self.bars.setOpts(x=x, height=heights, width=0.7, brushes=brushes, pens=pens)
        plot.setXRange(-0.6, len(rows) - 0.4, padding=0)
        kinds = {row[2] for row in rows}
        parts = []
        if DEAD_COLOR in kinds:
            parts.append(f"<span style='color:{DEAD_COLOR}'>■</span> dead")
        if SATURATED_COLOR in kinds:
            parts.append(f"<span style='color:{SATURATED_COLOR}'>■</span> saturated")
        self.title.setText(" / ".join(parts) + f" units · step {probe.step}")
        self._update_ticks()

    def _update_ticks(self, *_args) -> None:
        """Label every bar when the names fit under them, else every k-th bar."""
        axis = self.plot_widget.getPlotItem().getAxis("bottom")
        names = self.nodes
        if not names:
            axis.setTicks([[]])
            return
        metrics = QFontMetricsF(axis.style["tickFont"] or axis.font())
        widest = max(metrics.horizontalAdvance(name) for name in names) + 8
        per_bar = self.plot_widget.getPlotItem().getViewBox().width() / len(names)
        every = max(1, math.ceil(widest / per_bar)) if per_bar > 0 else 1
        axis.setTicks([[(i, name) for i, name in enumerate(names) if i % every == 0]])
