"""The Patches panel: what each channel of a layer responds to (Zeiler & Fergus 2014).

For a chosen convolutional node it shows, one row per channel, the k pieces of input
(receptive fields) that excite the channel most over the whole dataset, strongest
first. Clicking a patch shows it in its whole image with the field's box, next to
the channel's activation map over that image.

The panel computes nothing: choosing a node emits :attr:`PatchesPanel.patches_requested`,
clicking a patch :attr:`PatchesPanel.patch_clicked`; the app runs the job (see
``app.run_inspector``) and hands the result to :meth:`PatchesPanel.show_patches` or
:meth:`PatchesPanel.show_detail`, or a one-line message to :meth:`PatchesPanel.show_error`.

The grid paints only the rows in view, from mosaics of :data:`BAND_CHANNELS` channels
built at the patches' own resolution the first time a band is painted, so a layer with
hundreds of channels opens at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QHelpEvent, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen,
)
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSplitter,
    QToolTip, QVBoxLayout, QWidget,
)

from graph_engine.probes.patches import TopPatches

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
BOX_COLOR = QColor(255, 112, 0)
EMPTY_GRID_TEXT = "Choose a convolutional layer to see the inputs its channels respond to most"
EMPTY_DETAIL_TEXT = "Click a patch to see it in its image"
NO_NODES_TEXT = "No layer of this network has a 2-d receptive field (add a Conv2d)"
_ERROR_STYLE = "color: #c62828;"
_MUTED_STYLE = "color: #5f6368;"
#: the grid's share of the panel's width is sized for tiles of about this many pixels
PREFERRED_TILE = 36
#: the detail keeps at least this width when the splitter is fitted
DETAIL_WIDTH = 170
#: … and at least this height when it lies below the grid
DETAIL_HEIGHT = 130


def rgb_image(image: np.ndarray) -> np.ndarray:
    """(C, H, W) uint8 as (H, W, 3): grey for one channel, RGB for three, else the mean."""
    if image.ndim == 2:
        image = image[None]
    if image.shape[0] == 3:
        return np.ascontiguousarray(image.transpose(1, 2, 0))
    grey = image[0] if image.shape[0] == 1 else image.mean(axis=0).round().astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def to_qimage(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 array as a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def _viridis() -> np.ndarray:
    import pyqtgraph as pg

    return pg.colormap.get("viridis").getLookupTable(0.0, 1.0, 256, alpha=False)


#: (256, 3) uint8 colour table for activation maps
ACTIVATION_LUT = _viridis()


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
        self._bands.clear()
        self._relayout()

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
            patches = self.top.patches[index * BAND_CHANNELS:(index + 1) * BAND_CHANNELS]
            count, k, depth, ph, pw = patches.shape
            if depth == 3:
                tiles = patches.transpose(0, 3, 1, 4, 2)  # (n, ph, k, pw, 3)
            else:
                grey = patches[:, :, 0] if depth == 1 else patches.mean(axis=2).round().astype(np.uint8)
                tiles = np.repeat(grey.transpose(0, 2, 1, 3)[..., None], 3, axis=4)
            image = to_qimage(tiles.reshape(count * ph, k * pw, 3))
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


class _GridScroll(QScrollArea):
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
        #: where the image, the map and the (clipped) box were last drawn, widget pixels
        self.image_rect = QRectF()
        self.map_rect = QRectF()
        self.box_rect = QRectF()
        self._image: QImage | None = None
        self._map: QImage | None = None
        self.setMinimumSize(160, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_detail(self, image: np.ndarray | None, box: tuple[int, int, int, int] | None,
                   activation: np.ndarray | None, channel: int = 0,
                   unit: tuple[int, int] | None = None) -> None:
        self.image, self.box, self.activation, self.channel, self.unit = image, box, activation, channel, unit
        self._image = None if image is None else to_qimage(rgb_image(image))
        if activation is None:
            self._map = None
        else:
            activation = np.asarray(activation, dtype=np.uint8)
            self._map = to_qimage(ACTIVATION_LUT[activation.reshape(activation.shape[0], -1)])
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
        """Lay the two pictures out side by side (stacked when tall), same size, whole scale."""
        if self.image is None:
            self.image_rect = self.map_rect = self.box_rect = QRectF()
            return
        height, width = self.image.shape[-2:]
        title = self.fontMetrics().height() + 2
        w, h = self.width() - 2 * MARGIN, self.height() - 2 * MARGIN
        side_by_side = w / 2 >= h - 2 * title
        room_w, room_h = ((w - MARGIN) / 2, h - title) if side_by_side else (w, (h - MARGIN) / 2 - title)
        scale = min(room_w / width, room_h / height)
        if scale >= 1:
            scale = math.floor(scale)
        scale = max(scale, 0.1)
        size_w, size_h = width * scale, height * scale
        self.image_rect = QRectF(MARGIN, MARGIN + title, size_w, size_h)
        if side_by_side:
            self.map_rect = QRectF(MARGIN + size_w + MARGIN * 2, MARGIN + title, size_w, size_h)
        else:
            self.map_rect = QRectF(MARGIN, MARGIN + 2 * title + size_h + MARGIN, size_w, size_h)
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
        for rect, text in ((self.image_rect, "input"), (self.map_rect, f"channel {self.channel}")):
            caption = QRectF(rect.left(), rect.top() - title, rect.width(), title)
            painter.drawText(caption, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                              int(rect.width())))
        painter.drawImage(self.image_rect, self._image)
        if self._map is not None:
            painter.drawImage(self.map_rect, self._map)
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
        for rect in (self.image_rect, self.map_rect):
            painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))


class PatchesPanel(QWidget):
    """Top-activating patches of a chosen layer, and one patch in its image (module docstring)."""

    #: node id whose patches the user asked for
    patches_requested = Signal(str)
    #: (node id, channel, rank) of the patch the user clicked
    patch_clicked = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.top: TopPatches | None = None
        self._header = ""
        self.node_combo = QComboBox()
        self.node_combo.setToolTip("A layer whose outputs are feature maps with a receptive field")
        self.node_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node_combo.setMinimumContentsLength(16)
        self.node_combo.activated.connect(self._node_chosen)
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Search the whole dataset for each channel's strongest inputs "
                                    "(with the run's best checkpoint)")
        self.show_button.clicked.connect(self._show_clicked)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.node_combo, 1)
        controls.addWidget(self.show_button)

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedHeight(6)
        self.busy_bar.hide()

        self.grid = PatchGrid()
        self.grid.tile_clicked.connect(self._tile_clicked)
        self.grid.selection_moved.connect(self._reveal)
        self.scroll = _GridScroll(self.grid)
        self.detail = PatchDetailView()
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(_MUTED_STYLE)
        detail_box = QWidget()
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail, 1)
        detail_layout.addWidget(self.caption)
        detail_layout.addWidget(self.note)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.scroll)
        self.splitter.addWidget(detail_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self._splitter_moved = False
        self.splitter.splitterMoved.connect(self._remember_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.splitter, 1)
        self.set_nodes([])
        self.show_detail(None)

    # -- layout -------------------------------------------------------------------
    def _remember_moved(self) -> None:
        self._splitter_moved = True

    def _fit_splitter(self) -> None:
        """Grid and detail side by side when the grid's smallest tiles and the detail fit,
        the grid sized for tiles of about PREFERRED_TILE px; else the detail below the
        grid. Left alone once the user drags the splitter."""
        if self._splitter_moved:
            return
        k = self.top.k if self.top is not None else 9
        side = max(self.top.patches.shape[3:5]) if self.top is not None else 1
        chrome = self.scroll.verticalScrollBar().sizeHint().width() + 2 * self.scroll.frameWidth()

        def grid_width(tile: int) -> int:
            return LABEL_WIDTH + k * (tile + GAP) + 2 * MARGIN + chrome

        handle = self.splitter.handleWidth()
        smallest = grid_width(side * max(1, math.ceil(MIN_TILE / side)))
        wide = self.splitter.width() - handle >= smallest + DETAIL_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
        if wide:
            total = self.splitter.width() - handle
            grid = max(min(grid_width(side * max(1, round(PREFERRED_TILE / side))), total - DETAIL_WIDTH),
                       total // 2)
        else:
            total = self.splitter.height() - handle
            grid = total - min(max(DETAIL_HEIGHT, int(total * 0.4)), total // 2)
        self.splitter.blockSignals(True)
        self.splitter.setSizes([grid, max(0, total - grid)])
        self.splitter.blockSignals(False)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_splitter()

    # -- nodes --------------------------------------------------------------------
    def set_nodes(self, nodes: list[tuple[str, str]]) -> None:
        """Fill the layer choice with (id, label) pairs, keeping the current node if still there."""
        current = self.current_node()
        self.node_combo.blockSignals(True)
        self.node_combo.clear()
        for node_id, label in nodes:
            self.node_combo.addItem(label, node_id)
        index = self.node_combo.findData(current) if current is not None else -1
        self.node_combo.setCurrentIndex(max(0, index) if nodes else -1)
        self.node_combo.blockSignals(False)
        self.node_combo.setEnabled(bool(nodes))
        self.show_button.setEnabled(bool(nodes))
        if not nodes:
            self._set_status(NO_NODES_TEXT, muted=True)
        elif self.top is None and not self.busy_bar.isVisible():
            self._set_status("Choose a layer and press Show", muted=True)

    def current_node(self) -> str | None:
        data = self.node_combo.currentData()
        return data if isinstance(data, str) else None

    def _node_chosen(self, index: int) -> None:
        node_id = self.node_combo.itemData(index)
        if isinstance(node_id, str):
            self.patches_requested.emit(node_id)

    def _show_clicked(self) -> None:
        node_id = self.current_node()
        if node_id is not None:
            self.patches_requested.emit(node_id)

    # -- results ------------------------------------------------------------------
    def show_busy(self, text: str) -> None:
        """A job is running: say what, with a busy bar, until its result or error arrives."""
        self._set_status(text, muted=True)
        self.busy_bar.show()

    def show_error(self, text: str) -> None:
        """A failed job: its message on one line (the whole text in the tooltip)."""
        self.busy_bar.hide()
        self._set_status(" ".join(str(text).split()) or "the job failed", error=True)

    def show_patches(self, top: TopPatches, images: int | None = None) -> None:
        """Draw ``top``; ``images`` is the dataset size the search ran over, for the header."""
        self.top = top
        self.busy_bar.hide()
        self.grid.set_patches(top)
        self._fit_splitter()
        self.scroll.verticalScrollBar().setValue(0)
        self.show_detail(None)
        self._header = self.header_text(top, images)
        self._set_status(self._header)

    @staticmethod
    def header_text(top: TopPatches, images: int | None = None) -> str:
        """``conv2: top 9 of 1,797 images per channel, as of step 560``."""
        searched = f" of {images:,} images" if images else ""
        return f"{top.node_id}: top {top.k}{searched} per channel, as of step {top.step:,}"

    def show_detail(self, detail: Any) -> None:
        """Show a ``PatchDetail`` (image, box, activation, sample_index, channel, value), or none."""
        if detail is None:
            self.detail.set_detail(None, None, None)
            self.caption.setText("")
            self.note.setText("")
            return
        self.busy_bar.hide()
        unit = None
        if self.top is not None and self.grid.selected is not None:
            channel, rank = self.grid.selected
            if (channel == detail.channel
                    and int(self.top.sample_indices[channel, rank]) == detail.sample_index):
                unit = tuple(int(v) for v in self.top.positions[channel, rank])
        self.detail.set_detail(detail.image, tuple(detail.box), detail.activation, detail.channel, unit)
        self.caption.setText(f"sample {detail.sample_index}, channel {detail.channel}, "
                             f"activation {format_value(float(detail.value))}")
        y0, x0, y1, x1 = detail.box
        field = f"receptive field {y1 - y0}×{x1 - x0} px"
        if self.detail.box_clipped():
            self.note.setText(f"The {field} reaches past the image border; the box is drawn clipped.")
        else:
            self.note.setText(f"{field.capitalize()} at rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}.")
        if self.top is not None:
            self._set_status(self._header)

    def _reveal(self, channel: int, rank: int) -> None:
        rect = self.grid.tile_rect(channel, rank)
        self.scroll.ensureVisible(rect.center().x(), rect.center().y(), rect.width(), rect.height())

    def clear(self) -> None:
        """Forget the shown patches (another run or graph): the grid and the detail empty."""
        self.top = None
        self._header = ""
        self.busy_bar.hide()
        self.grid.set_patches(None)
        self.show_detail(None)
        self.set_nodes([(self.node_combo.itemData(i), self.node_combo.itemText(i))
                        for i in range(self.node_combo.count())])

    def _tile_clicked(self, channel: int, rank: int) -> None:
        if self.top is not None:
            self.patch_clicked.emit(self.top.node_id, channel, rank)

    @property
    def selected(self) -> tuple[int, int] | None:
        """(channel, rank) of the highlighted patch."""
        return self.grid.selected

    def _set_status(self, text: str, error: bool = False, muted: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setProperty("error", error)
        self.status.setStyleSheet(_ERROR_STYLE if error else _MUTED_STYLE if muted else "")
