"""The Evaluation panel's confusion matrix: rows the true class, columns the predicted
one, each cell coloured by its share of the row, and each class's accuracy as a bar
beside its row."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from widgets.imaging import gradient_lut

#: above this many classes the matrix has no numbers in its cells
MAX_COUNTED_CLASSES = 20
MARGIN = 8
#: (256, 3) uint8: row share 0 … 1 → colour, white → dark blue (ColorBrewer "Blues")
SHARE_LUT = gradient_lut([(247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225),
                          (107, 174, 214), (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107)])
BAR_COLOR = QColor(33, 113, 181)
TRACK_COLOR = QColor(224, 228, 234)


def share_color(share: float) -> QColor:
    """The colour of a cell holding ``share`` (0 … 1) of its row."""
    r, g, b = SHARE_LUT[int(round(min(1.0, max(0.0, share)) * 255))]
    return QColor(int(r), int(g), int(b))


def percent(value: float) -> str:
    return f"{value * 100:.1f}%" if value < 0.9995 else "100%"


class ConfusionView(QWidget):
    """The confusion matrix with each class's accuracy as a bar beside its row."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        #: accuracy of each true class (None: no sample of that class)
        self.bar_values: list[float | None] = []
        self.class_names: list[str] = []
        self.setMinimumSize(220, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._geometry: dict[str, Any] | None = None

    def set_confusion(self, matrix: np.ndarray, per_class: Sequence[float | None] | None = None,
                      class_names: Sequence[str] | None = None) -> None:
        matrix = np.asarray(matrix, dtype=np.int64)
        self.matrix = matrix
        totals = matrix.sum(axis=1)
        if per_class is None or len(per_class) != len(matrix):
            per_class = [matrix[i, i] / totals[i] if totals[i] else None for i in range(len(matrix))]
        self.bar_values = [None if v is None else float(v) for v in per_class]
        names = list(class_names or [])
        self.class_names = names if len(names) == len(matrix) else [str(i) for i in range(len(matrix))]
        self._geometry = None
        self.update()

    @property
    def shows_counts(self) -> bool:
        """Whether counts are written in the cells (few classes, cells big enough)."""
        geometry = self._layout()
        return (self.matrix is not None and len(self.matrix) <= MAX_COUNTED_CLASSES
                and geometry["cell"] >= 14)

    # -- geometry -----------------------------------------------------------------
    def _label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.9))
        return font

    def _layout(self) -> dict[str, Any]:
        if self._geometry is not None and self._geometry["size"] == self.size():
            return self._geometry
        count = 0 if self.matrix is None else len(self.matrix)
        metrics = QFontMetrics(self._label_font())
        line = metrics.height()
        names = self.class_names or ["0"]
        widest = min(max(metrics.horizontalAdvance(n) for n in names), 96)
        title_w = line + 4
        left = MARGIN + title_w + widest + 6
        top = MARGIN + line + 4
        bars_w = int(min(180, max(96, self.width() * 0.3)))
        room_w = self.width() - left - bars_w - 2 * MARGIN
        bottom = line + 4 + line + MARGIN  # column labels + axis title
        cell = math.floor(min(room_w / max(1, count), (self.height() - top - bottom) / max(1, count)))
        rotated = widest > cell - 4
        if rotated:
            bottom = widest + 6 + line + MARGIN
            cell = math.floor(min(room_w / max(1, count), (self.height() - top - bottom) / max(1, count)))
        cell = max(cell, 2)
        self._geometry = {"size": self.size(), "cell": cell, "left": left, "top": top, "rotated": rotated,
                          "line": line, "widest": widest, "title_w": title_w,
                          "bars_left": left + count * cell + 14, "bars_w": bars_w,
                          "text_w": metrics.horizontalAdvance("100%") + 6}
        return self._geometry

    def cell_rect(self, true: int, predicted: int) -> QRectF:
        """Where cell (true class, predicted class) is drawn, in widget pixels."""
        g = self._layout()
        return QRectF(g["left"] + predicted * g["cell"], g["top"] + true * g["cell"], g["cell"], g["cell"])

    def bar_rect(self, true: int) -> QRectF:
        """The filled bar of a class's accuracy (zero width when it has no samples)."""
        track = self._track(true)
        value = self.bar_values[true] or 0.0
        return QRectF(track.left(), track.top(), track.width() * value, track.height())

    def _track(self, true: int) -> QRectF:
        g = self._layout()
        inset = max(1.0, g["cell"] * 0.18)
        return QRectF(g["bars_left"], g["top"] + true * g["cell"] + inset,
                      max(10.0, g["bars_w"] - g["text_w"]), g["cell"] - 2 * inset)

    def _hit(self, point: QPointF) -> tuple[str, int, int] | None:
        if self.matrix is None:
            return None
        g = self._layout()
        count = len(self.matrix)
        row = math.floor((point.y() - g["top"]) / g["cell"])
        if not 0 <= row < count:
            return None
        column = math.floor((point.x() - g["left"]) / g["cell"])
        if 0 <= column < count:
            return "cell", row, column
        if g["bars_left"] <= point.x() <= g["bars_left"] + g["bars_w"]:
            return "bar", row, row
        return None

    # -- painting -----------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._geometry = None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if self.matrix is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        g = self._layout()
        matrix, count, cell = self.matrix, len(self.matrix), g["cell"]
        totals = matrix.sum(axis=1)
        shares = matrix / np.maximum(totals, 1)[:, None]
        text_color = self.palette().color(self.palette().ColorRole.WindowText)
        muted = self.palette().color(self.palette().ColorRole.PlaceholderText)
        for i in range(count):
            for j in range(count):
                painter.fillRect(self.cell_rect(i, j), share_color(float(shares[i, j])))
        painter.setPen(QPen(QColor(190, 198, 208), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        outline = QRectF(g["left"], g["top"], count * cell, count * cell)
        painter.drawRect(outline.adjusted(-0.5, -0.5, 0.5, 0.5))
        if self.shows_counts:
            font = QFont(self.font())
            font.setPixelSize(int(max(7, min(12, cell * 0.42))))
            painter.setFont(font)
            for i in range(count):
                for j in range(count):
                    if matrix[i, j]:
                        painter.setPen(Qt.GlobalColor.white if shares[i, j] > 0.45 else QColor(30, 30, 30))
                        painter.drawText(self.cell_rect(i, j), Qt.AlignmentFlag.AlignCenter,
                                         str(matrix[i, j]))
        self._paint_labels(painter, g, text_color, muted)
        self._paint_bars(painter, g, text_color, muted)

    def _paint_labels(self, painter: QPainter, g: dict[str, Any], text_color: QColor, muted: QColor) -> None:
        count, cell, line = len(self.matrix), g["cell"], g["line"]
        painter.setFont(self._label_font())
        metrics = painter.fontMetrics()
        painter.setPen(text_color)
        step = max(1, math.ceil(line / cell))  # skip labels that would overlap
        for i in range(0, count, step):
            name = metrics.elidedText(self.class_names[i], Qt.TextElideMode.ElideRight, g["widest"])
            middle = g["top"] + (i + 0.5) * cell
            painter.drawText(QRectF(MARGIN + g["title_w"], middle - line / 2, g["widest"], line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
        below = g["top"] + count * cell + 3
        for j in range(0, count, step):
            name = metrics.elidedText(self.class_names[j], Qt.TextElideMode.ElideRight, g["widest"])
            x = g["left"] + j * cell
            if g["rotated"]:
                painter.save()
                painter.translate(x + cell / 2 + line / 2 - 2, below)
                painter.rotate(90)
                painter.drawText(QRectF(0, 0, g["widest"], line),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
                painter.restore()
            else:
                painter.drawText(QRectF(x - 10, below, cell + 20, line), Qt.AlignmentFlag.AlignCenter, name)
        labels_h = (g["widest"] + 6) if g["rotated"] else line + 4
        painter.setPen(muted)
        painter.drawText(QRectF(g["left"], below + labels_h, count * cell, line),
                         Qt.AlignmentFlag.AlignCenter, "predicted class")
        painter.save()
        painter.translate(MARGIN, g["top"] + count * cell / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-count * cell / 2, 0, count * cell, line), Qt.AlignmentFlag.AlignCenter,
                         "true class")
        painter.restore()
        painter.drawText(QRectF(g["left"], MARGIN, count * cell, line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText("colour: share of the row", Qt.TextElideMode.ElideRight,
                                            int(count * cell)))

    def _paint_bars(self, painter: QPainter, g: dict[str, Any], text_color: QColor, muted: QColor) -> None:
        count, cell = len(self.matrix), g["cell"]
        painter.setPen(muted)
        painter.drawText(QRectF(g["bars_left"], MARGIN, g["bars_w"], g["line"]),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "accuracy per class")
        show_text = cell >= g["line"] - 2
        for i in range(count):
            track = self._track(i)
            painter.fillRect(track, TRACK_COLOR)
            value = self.bar_values[i]
            if value is not None:
                painter.fillRect(self.bar_rect(i), BAR_COLOR)
            if show_text:
                painter.setPen(text_color if value is not None else muted)
                painter.drawText(QRectF(track.right() + 4, g["top"] + i * cell, g["text_w"], cell),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 "n/a" if value is None else f"{value * 100:.0f}%")

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            hit = self._hit(QPointF(help_event.pos()))
            if hit is None:
                QToolTip.hideText()
                return True
            kind, i, j = hit
            total = int(self.matrix[i].sum())
            names = self.class_names
            if kind == "cell":
                share = self.matrix[i, j] / total if total else 0.0
                text = (f"true {names[i]}, predicted {names[j]}: {int(self.matrix[i, j])} of "
                        f"{total} ({percent(share)})")
            elif self.bar_values[i] is None:
                text = f"{names[i]}: no validation samples"
            else:
                text = (f"{names[i]}: {int(self.matrix[i, i])} of {total} right "
                        f"({percent(self.bar_values[i])})")
            QToolTip.showText(help_event.globalPos(), text, self)
            return True
        return super().event(event)
