"""The Encoder state view: where an encoder–decoder's encoder puts each validation phrase.

At each epoch's end the trainer takes the encoder's final state (what the decoder's
``h0``/``c0`` receive) for a few hundred validation sources and projects it to two
dimensions by PCA (scikit-learn); this view draws the points, labels some of them with
their phrase, and says how much of the variance the two components hold — the figure of
Sutskever et al. (2014): phrases that mean alike land close together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from widgets.theme import PLACEHOLDER_STYLE

if TYPE_CHECKING:
    from graph_engine.training.history import RunHistory

#: phrases written beside their point (the rest are dots; hovering names any)
LABELLED = 28
POINT_COLOR = "#2563eb"
LABEL_COLOR = "#1f2937"
EMPTY_TEXT = ("Train an encoder–decoder (template:seq2seq_translator or template:shapes_captioner):\n"
              "after each epoch the encoder's final state for the validation phrases appears here, "
              "projected by PCA")


def spread_labels(points: np.ndarray, count: int) -> list[int]:
    """Indices of up to ``count`` points far apart (farthest-point order from the first), so the
    written labels cover the picture instead of piling up."""
    n = len(points)
    if n == 0 or count <= 0:
        return []
    chosen = [0]
    distance = np.linalg.norm(points - points[0], axis=1)
    while len(chosen) < min(count, n):
        index = int(distance.argmax())
        if distance[index] <= 0:
            break
        chosen.append(index)
        distance = np.minimum(distance, np.linalg.norm(points - points[index], axis=1))
    return chosen


class EncoderStatePanel(QWidget):
    """See the module docstring. Redraws when a new projection arrives."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._seen: tuple[int, int] | None = None
        self.labels: list[str] = []
        self.points = np.zeros((0, 2))
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.plot_widget = pg.PlotWidget(background="w")
        plot = self.plot = self.plot_widget.getPlotItem()
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        for name, text in (("bottom", "PC 1"), ("left", "PC 2")):
            plot.getAxis(name).setLabel(text, color="#374151", **{"font-size": "8pt"})
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None), brush=pg.mkBrush(QColor(POINT_COLOR)),
                                          hoverable=True, tip=self._tip)
        plot.addItem(self.scatter)
        self._texts: list[pg.TextItem] = []
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet(PLACEHOLDER_STYLE)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.title)
        page_layout.addWidget(self.plot_widget, 1)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.stack)

    def set_history(self, history: "RunHistory | None") -> None:
        self._history = history
        self._seen = None
        self.refresh()

    def refresh(self) -> None:
        history = self._history
        result = history.probes.get("encoder_states") if history is not None else None
        key = (id(history), result.step) if result is not None else None
        if key == self._seen:
            return
        self._seen = key
        if result is None:
            self.show_projection(None, 0)
        else:
            self.show_projection(result.data, result.step)

    def show_projection(self, data: dict[str, Any] | None, step: int) -> None:
        """Draw ``{"points": (N, 2), "labels": [...], "explained": [a, b]}`` (None: empty)."""
        for text in self._texts:
            self.plot.removeItem(text)
        self._texts = []
        if not data or not len(data.get("points", [])):
            self.points, self.labels = np.zeros((0, 2)), []
            self.scatter.setData([], [])
            self.stack.setCurrentIndex(0)
            return
        points = np.asarray(data["points"], dtype=np.float64)
        labels = [str(label) for label in data.get("labels", [])][:len(points)]
        labels += [""] * (len(points) - len(labels))
        self.points, self.labels = points, labels
        self.scatter.setData(points[:, 0], points[:, 1], data=list(range(len(points))))
        font = QFont()
        font.setPointSizeF(7.5)
        for index in spread_labels(points, LABELLED):
            text = pg.TextItem(labels[index], color=LABEL_COLOR, anchor=(0, 0.5))
            text.setFont(font)
            text.setPos(points[index, 0], points[index, 1])
            self.plot.addItem(text)
            self._texts.append(text)
        explained = data.get("explained", [0.0, 0.0])
        self.title.setText(f"Encoder final state of {len(points)} validation phrases, PCA to 2-D "
                           f"(PC 1 {explained[0]:.0%}, PC 2 {explained[1]:.0%} of the variance), "
                           f"after step {step:,}")
        self.stack.setCurrentIndex(1)

    @property
    def label_count(self) -> int:
        return len(self._texts)

    def _tip(self, x: float, y: float, data: Any) -> str:
        index = int(data) if data is not None else -1
        return self.labels[index] if 0 <= index < len(self.labels) else f"({x:.2f}, {y:.2f})"
