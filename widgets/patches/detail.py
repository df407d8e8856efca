"""The Patches panel's detail: a patch's whole input image with the receptive field's
box, the channel's activation map over that image beside it, and the patch itself at full
resolution (the grid shows patches downscaled to at most 64 px, so a wide field's detail is
cut again from its sample when clicked)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets.imaging import VIRIDIS_LUT, rgb, to_qimage
from widgets.patches.grid import MARGIN

BOX_COLOR = QColor(255, 112, 0)
EMPTY_DETAIL_TEXT = "Click a patch to see it in its image"


class PatchDetailView(QWidget):
    """The patch's whole input image with the field's box, and the channel's map beside it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: np.ndarray | None = None
        self.activation: np.ndarray | None = None
        self.box: tuple[int, int, int, int] | None = None
        #: output (row, col) of the unit, marked on the map when known
        self.unit: tuple[int, int] | None = None
        self.channel = 0
        #: (C, h, w) uint8, the patch at full resolution, when known
        self.crop: np.ndarray | None = None
        #: where the image, the map, the (clipped) box and the crop were last drawn, widget pixels
        self.image_rect = QRectF()
        self.map_rect = QRectF()
        self.box_rect = QRectF()
        self.crop_rect = QRectF()
        self._image: QImage | None = None
        self._map: QImage | None = None
        self._crop: QImage | None = None
        self.setMinimumSize(160, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_detail(self, image: np.ndarray | None, box: tuple[int, int, int, int] | None,
                   activation: np.ndarray | None, channel: int = 0,
                   unit: tuple[int, int] | None = None, crop: np.ndarray | None = None) -> None:
        self.image, self.box, self.activation, self.channel, self.unit = image, box, activation, channel, unit
        self.crop = None if image is None else crop
        self._image = None if image is None else to_qimage(rgb(image))
        self._crop = None if self.crop is None else to_qimage(rgb(self.crop))
        if activation is None:
            self._map = None
        else:
            activation = np.asarray(activation, dtype=np.uint8)
            self._map = to_qimage(VIRIDIS_LUT[activation.reshape(activation.shape[0], -1)])
        self._place()
        self.update()

    def box_clipped(self) -> bool:
        """Whether the receptive field reaches past the image's border."""
        if self.image is None or self.box is None:
            return False
        y0, x0, y1, x1 = self.box
        height, width = self.image.shape[-2:]
        return y0 < 0 or x0 < 0 or y1 > height or x1 > width

    def _place(self) -> None:
        """Lay the pictures out in a row (stacked when tall), the image and the map the same
        size, whole scale when enlarged; the full-resolution patch gets a slot of its own."""
        if self.image is None:
            self.image_rect = self.map_rect = self.box_rect = self.crop_rect = QRectF()
            return
        height, width = self.image.shape[-2:]
        slots = 2 if self.crop is None else 3
        title = self.fontMetrics().height() + 2
        w, h = self.width() - 2 * MARGIN, self.height() - 2 * MARGIN
        side_by_side = w / slots >= h - 2 * title
        if side_by_side:
            room_w, room_h = (w - (slots - 1) * MARGIN) / slots, h - title
        else:
            room_w, room_h = w, (h - (slots - 1) * MARGIN) / slots - title

        def fitted(rows: int, cols: int) -> float:
            scale = min(room_w / cols, room_h / rows)
            return max(math.floor(scale) if scale >= 1 else scale, 0.1)

        scale = fitted(height, width)
        size_w, size_h = width * scale, height * scale
        step_x = step_y = 0.0  # from one slot to the next
        self.image_rect = QRectF(MARGIN, MARGIN + title, size_w, size_h)
        if side_by_side:
            self.map_rect = QRectF(MARGIN + size_w + MARGIN * 2, MARGIN + title, size_w, size_h)
            step_x = size_w + MARGIN * 2
        else:
            self.map_rect = QRectF(MARGIN, MARGIN + 2 * title + size_h + MARGIN, size_w, size_h)
            step_y = size_h + title + MARGIN
        self.crop_rect = QRectF()
        if self.crop is not None:
            crop_h, crop_w = self.crop.shape[-2:]
            crop_scale = fitted(crop_h, crop_w)
            self.crop_rect = QRectF(MARGIN + 2 * step_x, MARGIN + title + 2 * step_y,
                                    crop_w * crop_scale, crop_h * crop_scale)
        self.box_rect = QRectF()
        if self.box is not None:
            y0, x0, y1, x1 = self.box
            y0, x0 = max(0, y0), max(0, x0)
            y1, x1 = min(height, y1), min(width, x1)
            if y1 > y0 and x1 > x0:
                origin = self.image_rect.topLeft()
                self.box_rect = QRectF(origin.x() + x0 * scale, origin.y() + y0 * scale,
                                       (x1 - x0) * scale, (y1 - y0) * scale)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        muted = self.palette().color(self.palette().ColorRole.PlaceholderText)
        if self._image is None:
            painter.setPen(muted)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             EMPTY_DETAIL_TEXT)
            return
        title = self.fontMetrics().height() + 2
        painter.setPen(self.palette().color(self.palette().ColorRole.WindowText))
        captions = [(self.image_rect, "input"), (self.map_rect, f"channel {self.channel}")]
        if self._crop is not None:
            crop_h, crop_w = self.crop.shape[-2:]
            captions.append((self.crop_rect, f"patch {crop_h}×{crop_w}"))
        for rect, text in captions:
            caption = QRectF(rect.left(), rect.top() - title, rect.width(), title)
            painter.drawText(caption, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                              int(rect.width())))
        painter.drawImage(self.image_rect, self._image)
        if self._map is not None:
            painter.drawImage(self.map_rect, self._map)
        if self._crop is not None:
            painter.drawImage(self.crop_rect, self._crop)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(BOX_COLOR, 2))
        if not self.box_rect.isNull():
            painter.drawRect(self.box_rect.adjusted(1, 1, -1, -1))
        if self.unit is not None and self.activation is not None and self.activation.ndim == 2:
            rows, cols = self.activation.shape
            cell_w, cell_h = self.map_rect.width() / cols, self.map_rect.height() / rows
            row, col = self.unit
            painter.drawRect(QRectF(self.map_rect.left() + col * cell_w, self.map_rect.top() + row * cell_h,
                                    cell_w, cell_h).adjusted(1, 1, -1, -1))
        painter.setPen(QPen(muted, 1))
        for rect in (self.image_rect, self.map_rect, self.crop_rect):
            if not rect.isNull():
                painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
