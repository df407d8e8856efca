"""A sweep's trials as points, objective against objective, the Pareto front bold.

Each completed trial is a point at (objective X, objective Y); the trials no other trial
beats on both objectives are drawn solid and joined by the front's staircase, the rest
faded. Clicking a point emits ``run_activated(run folder)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from graph_engine.experiments.records import RunRow, pareto_mask
from graph_engine.experiments.spec import Objective
from widgets.plot_style import BACKGROUND, style_plot

FRONT_COLOR = (31, 119, 180)
FADED = (31, 119, 180, 60)


def objective_label(objective: Objective) -> str:
    arrow = "↑" if objective.direction == "max" else "↓"
    return f"{objective.name} {arrow}"


class ParetoView(QWidget):
    """See the module docstring."""

    run_activated = Signal(Path)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.x_choice, self.y_choice = QComboBox(), QComboBox()
        self.caption = QLabel("Run a sweep with two objectives to see its Pareto front")
        self.caption.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("x"))
        controls.addWidget(self.x_choice, 1)
        controls.addWidget(QLabel("y"))
        controls.addWidget(self.y_choice, 1)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(BACKGROUND)
        style_plot(self.plot.getPlotItem())
        self.dominated = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), brush=pg.mkBrush(*FADED))
        self.front = pg.ScatterPlotItem(size=11, pen=pg.mkPen(BACKGROUND, width=1), brush=pg.mkBrush(*FRONT_COLOR))
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(FRONT_COLOR, width=1))
        for item in (self.front_line, self.dominated, self.front):
            self.plot.addItem(item)
        self.dominated.sigClicked.connect(self._clicked)
        self.front.sigClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.objectives: list[Objective] = []
        self.rows: list[RunRow] = []
        self.front_rows: list[RunRow] = []
        self.x_choice.currentIndexChanged.connect(lambda _i: self._draw())
        self.y_choice.currentIndexChanged.connect(lambda _i: self._draw())

    def set_trials(self, rows: Sequence[RunRow], objectives: Sequence[Objective]) -> None:
        """Show the completed trials among ``rows`` against ``objectives`` (two or more)."""
        names = [o.name for o in objectives]
        if names != [o.name for o in self.objectives]:
            self.objectives = list(objectives)
            for index, combo in enumerate((self.x_choice, self.y_choice)):
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([objective_label(o) for o in objectives])
                combo.setCurrentIndex(min(len(objectives) - 1, 1 - index))  # x: the second, y: the first
                combo.blockSignals(False)
        self.rows = [r for r in rows if all(n in r.objectives for n in names)]
        self._draw()

    def _draw(self) -> None:
        if len(self.objectives) < 1 or not self.rows:
            for item in (self.front, self.dominated, self.front_line):
                item.setData([], [])
            self.front_rows = []
            self.caption.setText("Run a sweep with two objectives to see its Pareto front" if not self.rows
                                 else "")
            return
        x_obj = self.objectives[max(0, self.x_choice.currentIndex())]
        y_obj = self.objectives[max(0, self.y_choice.currentIndex())]
        points = np.asarray([(r.objectives[x_obj.name], r.objectives[y_obj.name]) for r in self.rows])
        mask = pareto_mask(points, [x_obj.direction == "max", y_obj.direction == "max"])
        front = np.flatnonzero(mask)
        rest = np.flatnonzero(~mask)
        self.front_rows = [self.rows[i] for i in front]
        self.front.setData(points[front, 0], points[front, 1], data=[str(self.rows[i].run_dir) for i in front])
        self.dominated.setData(points[rest, 0], points[rest, 1], data=[str(self.rows[i].run_dir) for i in rest])
        order = front[np.argsort(points[front, 0])]
        self.front_line.setData(points[order, 0], points[order, 1], stepMode=None)
        self.plot.setLabel("bottom", objective_label(x_obj))
        self.plot.setLabel("left", objective_label(y_obj))
        self.caption.setText(f"{len(front)} of {len(self.rows)} trials on the front (solid); "
                             "faded ones are beaten on both. Click a point to open its trial.")

    def point_position(self, run_dir: Path) -> tuple[float, float] | None:
        """Where a trial's point is drawn (data coordinates), for tests and tooltips."""
        for item in (self.front, self.dominated):
            for point in item.points():
                if point.data() == str(run_dir):
                    position = point.pos()
                    return position.x(), position.y()
        return None

    def _clicked(self, _item: pg.ScatterPlotItem, points: Sequence[pg.SpotItem], *_args: object) -> None:
        if len(points):
            self.run_activated.emit(Path(points[0].data()))
