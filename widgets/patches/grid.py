"""The Patches panel's grid: one row per channel of its k top-activating patches.

It paints only the rows in view, from mosaics of :data:`BAND_CHANNELS` channels built
at the patches' own resolution the first time a band is painted, so a layer with
hundreds of channels opens at once.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QHelpEvent, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen,
)
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QToolTip, QWidget

from graph_engine.probes.patch_sets import TopPatches, scaled_patches
from widgets.imaging import rgb, to_qimage

#: channels per cached mosaic image
BAND_CHANNELS = 16
#: a patch is enlarged by a whole factor to at least this many pixels a side, when it fits …
MIN_TILE = 24
#: … and to at most this many
MAX_TILE = 72
#: space between tiles (room for the selection ring)
GAP = 4
#: width of the "ch 7 / 3.21" column left of each row
LABEL_WIDTH = 64
MARGIN = 6
HIGHLIGHT = QColor(255, 112, 0)
TILE_FRAME = QColor(150, 150, 150)
EMPTY_GRID_TEXT = "Choose a convolutional layer to see the inputs its channels respond to most"


def format_value(value: float) -> str:
    """An activation in three significant digits (``3.21``, ``0.0412``, ``1.23e+03``)."""
    return f"{value:.3g}"


def short_value(value: float) -> str:
    """An activation in at most five characters for the row labels (``3.21``, ``-0.02``, ``142``)."""
    size = abs(value)
    if size >= 1000:
        return f"{value:.0e}"
    if size >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}"


class PatchGrid(QWidget):
    """One row per channel of its k patches; paints only what is in view."""

    #: (channel, rank) of the tile under a left click, or the selected one on Enter / Space
    tile_clicked = Signal(int, int)
    #: (channel, rank) the arrow keys moved the selection to (to scroll it into view)
    selection_moved = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.top: TopPatches | None = None
        self.selected: tuple[int, int] | None = None
        #: "patch" (each patch stretched on its own) or "row" (one scale per channel)
        self.scale = "patch"
        self._shown = None  # top.patches as scaled for display
        self._bands: dict[int, QImage] = {}
        self._available = 400
        self._scale = 1
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- content ------------------------------------------------------------------
    def set_patches(self, top: TopPatches | None) -> None:
        self.top = top
        self.selected = None
        self._shown = None
        self._bands.clear()
        self._relayout()

    def set_scale(self, scale: str) -> None:
        """Repaint with each patch scaled on its own ("patch") or per channel's row ("row")."""
        if scale != self.scale:
            self.scale = scale
            self._shown = None
            self._bands.clear()
            self.update()

    def set_selected(self, selected: tuple[int, int] | None) -> None:
        if selected != self.selected:
            for old in (self.selected, selected):
                if old is not None:
                    self.update(self.tile_rect(*old).adjusted(-GAP, -GAP, GAP, GAP))
            self.selected = selected

    def set_available_width(self, width: int) -> None:
        """Fit the tiles to the scroll area's width (whole enlargement factors only)."""
        if width != self._available:
            self._available = width
            self._relayout()

    @property
    def channel_count(self) -> int:
        return 0 if self.top is None else int(self.top.patches.shape[0])

    @property
    def k(self) -> int:
        return 0 if self.top is None else int(self.top.patches.shape[1])

    @property
    def tile_count(self) -> int:
        """Tiles the grid draws (every channel's k patches)."""
        return self.channel_count * self.k

    @property
    def built_bands(self) -> int:
        """Mosaics made so far (only bands that were painted)."""
        return len(self._bands)

    @property
    def tile_size(self) -> QSize:
        if self.top is None:
            return QSize(0, 0)
        ph, pw = self.top.patches.shape[3:5]
        return QSize(pw * self._scale, ph * self._scale)

    # -- geometry -----------------------------------------------------------------
    def _relayout(self) -> None:
        if self.top is None:
            self.setFixedSize(max(1, self._available), 120)
            self.update()
            return
        ph, pw = self.top.patches.shape[3:5]
        side = max(ph, pw)
        per_tile = (self._available - LABEL_WIDTH - 2 * MARGIN) // max(1, self.k) - GAP
        scale = max(1, min(per_tile // side, MAX_TILE // side))
        self._scale = max(scale, math.ceil(MIN_TILE / side))
        tile = self.tile_size
        width = LABEL_WIDTH + self.k * (tile.width() + GAP) + 2 * MARGIN
        height = self.channel_count * self._row_height() + 2 * MARGIN - GAP
        self.setFixedSize(max(width, 1), max(height, 1))
        self.update()

    def _row_height(self) -> int:
        return self.tile_size.height() + GAP

    def tile_rect(self, channel: int, rank: int) -> QRect:
        """Where the patch of ``channel`` at ``rank`` is drawn, in widget pixels."""
        tile = self.tile_size
        return QRect(MARGIN + LABEL_WIDTH + rank * (tile.width() + GAP),
                     MARGIN + channel * self._row_height(), tile.width(), tile.height())

    def tile_at(self, point: QPoint) -> tuple[int, int] | None:
        """(channel, rank) of the tile under ``point``, None between tiles."""
        if self.top is None:
            return None
        tile = self.tile_size
        x, y = point.x() - MARGIN - LABEL_WIDTH, point.y() - MARGIN
        if x < 0 or y < 0:
            return None
        rank, dx = divmod(x, tile.width() + GAP)
        channel, dy = divmod(y, self._row_height())
        if rank >= self.k or channel >= self.channel_count or dx >= tile.width() or dy >= tile.height():
            return None
        return int(channel), int(rank)

    # -- painting -----------------------------------------------------------------
    def _band(self, index: int) -> QImage:
        """Mosaic of channels [index·B, (index+1)·B) at the patches' own size, made once."""
        image = self._bands.get(index)
        if image is None:
            if self._shown is None:
                self._shown = scaled_patches(self.top, self.scale)
            patches = self._shown[index * BAND_CHANNELS:(index + 1) * BAND_CHANNELS]
            count, k, depth, ph, pw = patches.shape
            # (depth, count·ph, k·pw): channel c's rows, each patch of a row side by side
            planes = patches.transpose(2, 0, 3, 1, 4).reshape(depth, count * ph, k * pw)
            image = to_qimage(rgb(planes))
            self._bands[index] = image
        return image

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        area = event.rect()
        if self.top is None:
            painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, EMPTY_GRID_TEXT)
            return
        ph, pw = self.top.patches.shape[3:5]
        row = self._row_height()
        first = max(0, (area.top() - MARGIN) // row)
        last = min(self.channel_count - 1, (area.bottom() - MARGIN) // row)
        name_font = QFont(self.font())
        name_font.setBold(True)
        value_font = QFont(self.font())
        value_font.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.85))
        muted = self.palette().color(self.palette().ColorRole.PlaceholderText)
        text_color = self.palette().color(self.palette().ColorRole.WindowText)
        two_lines = self.tile_size.height() >= 2 * painter.fontMetrics().height()
        frame = QPen(TILE_FRAME, 1)
        for channel in range(first, last + 1):
            band = self._band(channel // BAND_CHANNELS)
            source_y = (channel % BAND_CHANNELS) * ph
            painter.setPen(frame)
            for rank in range(self.k):
                rect = self.tile_rect(channel, rank)
                painter.drawImage(rect, band, QRect(rank * pw, source_y, pw, ph))
                painter.drawRect(QRectF(rect).adjusted(-0.5, -0.5, 0.5, 0.5))
            label = QRect(MARGIN, MARGIN + channel * row, LABEL_WIDTH - 6, self.tile_size.height())
            painter.setFont(name_font)
            painter.setPen(text_color)
            if two_lines:
                top_half, bottom_half = label.adjusted(0, 0, 0, -label.height() // 2), \
                    label.adjusted(0, label.height() // 2, 0, 0)
                painter.drawText(top_half, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                                 f"ch {channel}")
                painter.setFont(value_font)
                painter.setPen(muted)
                painter.drawText(bottom_half, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 f"max {short_value(float(self.top.values[channel, 0]))}")
            else:
                painter.drawText(label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 f"ch {channel}")
        if self.selected is not None:
            painter.setPen(QPen(HIGHLIGHT, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.tile_rect(*self.selected)).adjusted(-1.5, -1.5, 1.5, 1.5))

    # -- interaction --------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        hit = self.tile_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and hit is not None:
            self.set_selected(hit)
            self.tile_clicked.emit(*hit)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Arrows move the selection, Enter or Space shows it, as a click would."""
        if self.top is None:
            super().keyPressEvent(event)
            return
        key = event.key()
        moves = {Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0), Qt.Key.Key_Left: (0, -1),
                 Qt.Key.Key_Right: (0, 1)}
        if key in moves:
            channel, rank = self.selected or (0, 0)
            if self.selected is not None:
                channel = min(max(channel + moves[key][0], 0), self.channel_count - 1)
                rank = min(max(rank + moves[key][1], 0), self.k - 1)
            self.set_selected((channel, rank))
            self.selection_moved.emit(channel, rank)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.selected is not None:
            self.tile_clicked.emit(*self.selected)
        else:
            super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.top is not None:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            hit = self.tile_at(help_event.pos())
            if hit is None:
                QToolTip.hideText()
            else:
                channel, rank = hit
                y0, x0, y1, x1 = (int(v) for v in self.top.boxes[channel, rank])
                QToolTip.showText(help_event.globalPos(), (
                    f"channel {channel}, rank {rank + 1}: activation "
                    f"{format_value(float(self.top.values[channel, rank]))}\n"
                    f"sample {int(self.top.sample_indices[channel, rank])}, "
                    f"rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}\nclick to see it in its image"), self)
            return True
        return super().event(event)


class GridScroll(QScrollArea):
    """Scroll area that tells its grid how wide it may be."""

    def __init__(self, grid: PatchGrid, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = grid
        self.setWidget(grid)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.grid.set_available_width(self.viewport().width())
