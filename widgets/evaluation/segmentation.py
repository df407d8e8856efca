"""The Evaluation panel's segmentation view: one validation image, its predicted and
true masks in one colour per class, and where they differ."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets.evaluation.confusion import MARGIN
from widgets.imaging import class_color, class_lut, image_rgb, to_qimage

#: wrong pixels in the errors picture (over the darkened image)
ERROR_COLOR = (255, 214, 0)


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
        self._images = [to_qimage(rgb), *(to_qimage(m) for m in masks), to_qimage(errors)]
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
