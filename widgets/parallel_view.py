"""Parallel coordinates of a sweep: one vertical axis per varied value and per objective,
one line per trial, coloured by the first objective (best bright, worst dark).

Numeric values are scaled to their axis's range (log ranges on a log scale); a list of
choices (layer types, optimizers) is spread evenly, and each axis is labelled with its
values at the ends. It shows at a glance which choices the good trials share.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from graph_engine.experiments.diff import show_value
from graph_engine.experiments.records import RunRow
from graph_engine.experiments.spec import Objective
from widgets.curves.style import MUTED_TEXT
from widgets.plot_style import BACKGROUND, style_plot

#: worst trials light grey, the best strong blue (drawn last, on top)
QUALITY_COLORS = pg.ColorMap([0.0, 1.0], [(210, 214, 220), (37, 99, 235)])


def _axis(values: list[Any]) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Positions in 0..1 for ``values`` and the tick labels of the axis."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values) and numbers:
        array = np.asarray(numbers, dtype=float)
        log = array.min() > 0 and array.max() / array.min() > 50
        scaled = np.log10(array) if log else array
        low, high = scaled.min(), scaled.max()
        span = high - low or 1.0
        ticks = [(0.0, _number_text(array.min())), (1.0, _number_text(array.max()))]
        return (scaled - low) / span, ticks
    choices = sorted({show_value(v) for v in values})
    index = {c: i for i, c in enumerate(choices)}
    denominator = max(1, len(choices) - 1)
    positions = np.asarray([index[show_value(v)] / denominator for v in values], dtype=float)
    return positions, [(i / denominator, c) for i, c in enumerate(choices)]


def _number_text(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else show_value(float(value))


class ParallelView(QWidget):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(BACKGROUND)
        style_plot(self.plot.getPlotItem())
        self.plot.getPlotItem().hideAxis("left")
        self.plot.setMouseEnabled(False, False)
        self.caption = QLabel("Run a sweep to see how its varied values relate to its objectives")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.lines: list[pg.PlotDataItem] = []
        self.labels: list[pg.TextItem] = []
        self.axes: list[str] = []

    def set_trials(self, rows: Sequence[RunRow], varied: Sequence[str], objectives: Sequence[Objective]) -> None:
        for item in [*self.lines, *self.labels]:
            self.plot.removeItem(item)
        self.lines, self.labels = [], []
        names = [o.name for o in objectives]
        rows = [r for r in rows if all(n in r.objectives for n in names) and all(k in r.varied for k in varied)]
        self.axes = [*varied, *names]
        if not rows or not self.axes:
            self.caption.setText("Run a sweep to see how its varied values relate to its objectives")
            return
        columns = []
        for key in varied:
            columns.append(_axis([r.varied[key] for r in rows]))
        for objective in objectives:
            columns.append(_axis([r.objectives[objective.name] for r in rows]))
        positions = np.stack([c[0] for c in columns], axis=1)
        first = np.asarray([r.objectives[names[0]] for r in rows], dtype=float) if names else np.zeros(len(rows))
        span = np.ptp(first) or 1.0
        quality = (first - first.min()) / span
        if objectives and objectives[0].direction == "min":
            quality = 1.0 - quality
        colormap = QUALITY_COLORS
        x = np.arange(len(self.axes), dtype=float)
        for index in np.argsort(quality):  # the best drawn last, on top
            color = colormap.map(float(quality[index]), mode="qcolor")
            line = pg.PlotDataItem(x, positions[index], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                                   symbolBrush=color, symbolPen=None)
            self.plot.addItem(line)
            self.lines.append(line)
        for column, (key, (_, ticks)) in enumerate(zip(self.axes, columns)):
            self.plot.addItem(pg.InfiniteLine(pos=column, angle=90, pen=pg.mkPen((150, 150, 150), width=1)))
            for y, text in ticks:
                end = y in (0.0, 1.0)
                label = pg.TextItem(text, anchor=(0.5, 1.0 if y == 1 else 0.0) if end else (0.0, 0.5),
                                    color=MUTED_TEXT)
                label.setPos(column + (0 if end else 0.04), y + (0.03 if y == 1 else -0.03 if y == 0 else 0))
                self.plot.addItem(label)
                self.labels.append(label)
        bottom = self.plot.getAxis("bottom")
        bottom.setTicks([[(i, _short(k)) for i, k in enumerate(self.axes)]])
        self.plot.setXRange(-0.4, len(self.axes) - 0.6, padding=0)
        self.plot.setYRange(-0.15, 1.15, padding=0)
        best = rows[int(np.argmax(quality))]
        self.caption.setText(f"{len(rows)} trials, coloured by {names[0] if names else ''} (dark blue = best: "
                             f"{best.name})")


def _short(key: str) -> str:
    if key.startswith("training."):
        from graph_engine.experiments.spec import SHORT_SETTINGS

        return SHORT_SETTINGS.get(key[9:], key[9:])
    return key[:-5] if key.endswith(".type") else key

