"""The Evaluation panel: how the model does on the validation set, per class.

A classifier gets its confusion matrix (rows the true class, columns the predicted
one, each cell coloured by its share of the row, counts written in when there are
at most :data:`MAX_COUNTED_CLASSES` classes) with each class's accuracy as a bar
beside its row. A segmenter gets one validation image with its predicted and true
masks side by side, in one colour per class. Other tasks get a short message.

It draws the newest ``confusion`` / ``segmentation`` probe of a
:class:`~graph_engine.training.history.RunHistory` and redraws only when that probe
(or the task, or the epoch list) changed, so the app's 4 Hz :meth:`EvaluationPanel.refresh`
costs a few comparisons.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QToolTip, QVBoxLayout, QWidget

from graph_engine.training.history import RunHistory

#: above this many classes the matrix has no numbers in its cells
MAX_COUNTED_CLASSES = 20
MARGIN = 8
#: white → dark blue, for a cell's share of its row (ColorBrewer "Blues")
_BLUES = np.array([(247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225),
                   (107, 174, 214), (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107)],
                  dtype=np.float64)
#: one colour per class index for masks (class 0, usually the background, a dark grey)
CLASS_COLORS: tuple[tuple[int, int, int], ...] = (
    (52, 52, 52), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210),
    (219, 219, 141), (158, 218, 229), (127, 127, 127),
)
BAR_COLOR = QColor(33, 113, 181)
#: wrong pixels in the errors picture (over the darkened image)
ERROR_COLOR = (255, 214, 0)
TRACK_COLOR = QColor(224, 228, 234)
NO_RUN_TEXT = ("Train a classifier or a segmenter to see how it does on the validation set: "
               "a confusion matrix with per-class accuracy, or predicted masks.")
_TASK_WORDS = {"regression": "regression: its validation MSE is in the curves",
               "language_model": "character model: the Text panel shows what it writes"}


def _lookup(anchors: np.ndarray) -> np.ndarray:
    """A 256-entry uint8 colour table through evenly spaced anchor colours."""
    positions = np.linspace(0.0, 1.0, len(anchors))
    steps = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(steps, positions, anchors[:, c]) for c in range(3)],
                    axis=1).round().astype(np.uint8)


#: (256, 3) uint8: row share 0 … 1 → colour
SHARE_LUT = _lookup(_BLUES)


def share_color(share: float) -> QColor:
    """The colour of a cell holding ``share`` (0 … 1) of its row."""
    r, g, b = SHARE_LUT[int(round(min(1.0, max(0.0, share)) * 255))]
    return QColor(int(r), int(g), int(b))


def class_color(index: int) -> tuple[int, int, int]:
    """The mask colour of class ``index``: a fixed table, then golden-angle hues."""
    if index < len(CLASS_COLORS):
        return CLASS_COLORS[index]
    color = QColor.fromHsvF((index * 0.618034) % 1.0, 0.65, 0.9)
    return color.red(), color.green(), color.blue()


def class_lut(count: int) -> np.ndarray:
    """(count, 3) uint8 colours of classes 0 … count − 1."""
    return np.array([class_color(i) for i in range(max(1, count))], dtype=np.uint8)


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def image_rgb(image: np.ndarray) -> np.ndarray:
    """A float (C, H, W) input as (H, W, 3) uint8, min-max scaled as a whole."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float64))
    if image.ndim == 2:
        image = image[None]
    low, high = image.min(initial=0.0), image.max(initial=0.0)
    scaled = ((image - low) * (255.0 / (high - low)) if high > low else np.zeros_like(image)).round()
    scaled = scaled.astype(np.uint8)
    if scaled.shape[0] == 3:
        return scaled.transpose(1, 2, 0)
    grey = scaled[0] if scaled.shape[0] == 1 else scaled.mean(axis=0).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%" if value < 0.9995 else "100%"


def _epoch_words(history: RunHistory, step: int) -> str:
    """``after epoch 2 (step 46)``, or ``at step 46`` when no epoch ended there."""
    for record in reversed(history.epochs):
        if record.get("step") == step:
            return f"after epoch {record['epoch']} (step {step:,})"
    return f"at step {step:,}"


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
                        f"{total} ({_percent(share)})")
            elif self.bar_values[i] is None:
                text = f"{names[i]}: no validation samples"
            else:
                text = (f"{names[i]}: {int(self.matrix[i, i])} of {total} right "
                        f"({_percent(self.bar_values[i])})")
            QToolTip.showText(help_event.globalPos(), text, self)
            return True
        return super().event(event)


class SegmentationView(QWidget):
    """One validation image, its predicted and true masks and where they differ, with a legend."""

    TITLES = ("image", "predicted", "true", "wrong pixels")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.predicted: np.ndarray | None = None
        self.true: np.ndarray | None = None
        self.class_names: list[str] = []
        #: classes in either mask, in the legend
        self.classes: list[int] = []
        self._images: list[QImage] = []
        self.setMinimumSize(220, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_segmentation(self, image: np.ndarray, predicted: np.ndarray, true: np.ndarray,
                         class_names: Sequence[str] | None = None) -> None:
        self.predicted = np.asarray(predicted, dtype=np.int64)
        self.true = np.asarray(true, dtype=np.int64)
        valid = [m[m >= 0] for m in (self.predicted, self.true)]
        top = max(int(v.max(initial=0)) for v in valid)
        self.class_names = list(class_names or [])
        lut = class_lut(max(top + 1, len(self.class_names)))
        self.classes = sorted(set(np.unique(valid[0]).tolist()) | set(np.unique(valid[1]).tolist()))
        masks = [lut[np.clip(m, 0, len(lut) - 1)] for m in (self.predicted, self.true)]
        for mask, values in zip(masks, (self.predicted, self.true)):
            mask[values < 0] = (255, 255, 255)  # ignored pixels
        rgb = image_rgb(image)
        if rgb.shape[:2] != self.true.shape:
            rgb = np.zeros((*self.true.shape, 3), dtype=np.uint8)
        grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        errors = np.repeat((grey * 0.35 + 24).astype(np.uint8)[:, :, None], 3, axis=2)
        errors[(self.predicted != self.true) & (self.true >= 0)] = ERROR_COLOR
        self._images = [_qimage(rgb), *(_qimage(m) for m in masks), _qimage(errors)]
        self.update()

    def name_of(self, index: int) -> str:
        return self.class_names[index] if index < len(self.class_names) else f"class {index}"

    def _legend_rows(self, metrics: QFontMetrics) -> list[list[tuple[int, float]]]:
        """The legend's (class, width) items, wrapped into rows that fit the width."""
        rows: list[list[tuple[int, float]]] = [[]]
        used = 0.0
        for index in self.classes:
            width = metrics.horizontalAdvance(self.name_of(index)) + metrics.height() + 14
            if rows[-1] and used + width > self.width() - 2 * MARGIN:
                rows.append([])
                used = 0.0
            rows[-1].append((index, width))
            used += width
        return rows

    def picture_rects(self) -> list[QRectF]:
        """Where the image, predicted mask, true mask and errors are drawn: four in a row or
        two by two, whichever draws them larger."""
        if not self._images:
            return []
        metrics = self.fontMetrics()
        title = metrics.height() + 4
        legend_h = len(self._legend_rows(metrics)) * (metrics.height() + 4) + MARGIN
        height, width = self.true.shape
        best = None
        for columns in (4, 2):
            rows = 4 // columns
            room_w = (self.width() - 2 * MARGIN - (columns - 1) * MARGIN) / columns
            room_h = (self.height() - 2 * MARGIN - legend_h - rows * title - (rows - 1) * MARGIN) / rows
            scale = min(room_w / width, room_h / height)
            if best is None or scale > best[0]:
                best = (scale, columns)
        scale, columns = best
        scale = math.floor(scale) if scale >= 1 else max(scale, 0.1)
        w, h = width * scale, height * scale
        left = (self.width() - columns * w - (columns - 1) * MARGIN) / 2
        return [QRectF(left + (i % columns) * (w + MARGIN),
                       MARGIN + title + (i // columns) * (h + title + MARGIN), w, h) for i in range(4)]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if not self._images:
            return
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        line = metrics.height()
        text_color = self.palette().color(self.palette().ColorRole.WindowText)
        rects = self.picture_rects()
        for rect, picture, title in zip(rects, self._images, self.TITLES):
            painter.setPen(text_color)
            painter.drawText(QRectF(rect.left(), rect.top() - line - 4, rect.width(), line),
                             Qt.AlignmentFlag.AlignCenter, title)
            painter.drawImage(rect, picture)
            painter.setPen(QPen(QColor(160, 160, 160), 1))
            painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
        y = max(r.bottom() for r in rects) + MARGIN
        for row in self._legend_rows(metrics):
            x = (self.width() - sum(w for _, w in row)) / 2
            for index, width in row:
                swatch = QRectF(x, y + 2, line - 4, line - 4)
                painter.fillRect(swatch, QColor(*class_color(index)))
                painter.setPen(QPen(QColor(120, 120, 120), 1))
                painter.drawRect(swatch)
                painter.setPen(text_color)
                painter.drawText(QRectF(x + line, y, width - line, line),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 self.name_of(index))
                x += width
            y += line + 4


class EvaluationPanel(QWidget):
    """Confusion matrix or masks of the newest epoch (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._key: tuple | None = None
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.message = QLabel(NO_RUN_TEXT)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: #5f6368; padding: 16px;")
        self.confusion = ConfusionView()
        self.segmentation = SegmentationView()
        self.stack = QStackedWidget()
        for page in (self.message, self.confusion, self.segmentation):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.refresh()

    @property
    def mode(self) -> str:
        """What is shown: ``message``, ``confusion`` or ``segmentation``."""
        return {self.message: "message", self.confusion: "confusion",
                self.segmentation: "segmentation"}[self.stack.currentWidget()]

    def set_history(self, history: RunHistory | None) -> None:
        self._history = history
        self._key = None
        self.refresh()

    def refresh(self) -> None:
        """Redraw when the run, its task, its evaluation probes or its epochs changed."""
        history = self._history
        if history is None:
            key: tuple = (None,)
        else:
            probes = history.probes
            key = (id(history), history.task, history.status, len(history.epochs),
                   *(probes[kind].step if kind in probes else None for kind in ("confusion", "segmentation")))
        if key == self._key:
            return
        self._key = key
        if history is None or not history.task:
            self._show_message(NO_RUN_TEXT)
        elif history.task == "classification":
            self._show_confusion(history)
        elif history.task == "segmentation":
            self._show_segmentation(history)
        else:
            words = _TASK_WORDS.get(history.task, history.task.replace("_", " "))
            self._show_message(f"No evaluation view for this task ({words}).")

    def _show_message(self, text: str) -> None:
        self.caption.setText("")
        self.caption.hide()
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def _missing(self, history: RunHistory, what: str) -> None:
        if history.active:
            self._show_message(f"The {what} appears at the end of the first epoch.")
        else:
            self._show_message(f"This run has no {what}: it is computed while training, at each "
                               "epoch's end (a run opened from its folder has its curves only).")

    def _show_confusion(self, history: RunHistory) -> None:
        probe = history.probes.get("confusion")
        if probe is None:
            self._missing(history, "confusion matrix")
            return
        data = probe.data
        matrix = np.asarray(data["matrix"], dtype=np.int64)
        self.confusion.set_confusion(matrix, data.get("per_class_accuracy"), data.get("class_names"))
        total, right = int(matrix.sum()), int(np.trace(matrix))
        accuracy = right / total if total else 0.0
        self.caption.setText(f"Accuracy {_percent(accuracy)} ({right:,} of {total:,} validation samples), "
                             f"{_epoch_words(history, probe.step)}")
        self.caption.show()
        self.stack.setCurrentWidget(self.confusion)

    def _show_segmentation(self, history: RunHistory) -> None:
        probe = history.probes.get("segmentation")
        if probe is None:
            self._missing(history, "predicted mask")
            return
        data = probe.data
        self.segmentation.set_segmentation(data["image"], data["predicted"], data["true"],
                                           data.get("class_names"))
        predicted, true = self.segmentation.predicted, self.segmentation.true
        counted = true >= 0
        pixels = int(counted.sum())
        right = float((predicted[counted] == true[counted]).sum() / pixels) if pixels else 0.0
        parts = []
        mean_iou = history.epochs[-1]["val"].get("mean_iou") if history.epochs else None
        if mean_iou is not None:
            parts.append(f"Mean IoU {mean_iou:.3f} on the validation set")
        parts.append(f"this image: {_percent(right)} of pixels right")
        text = f"{', '.join(parts)}; {_epoch_words(history, probe.step)}"
        self.caption.setText(text[0].upper() + text[1:])
        self.caption.show()
        self.stack.setCurrentWidget(self.segmentation)
