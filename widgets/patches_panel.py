"""The Patches panel: what each channel of a layer responds to (Zeiler & Fergus 2014).

For a chosen convolutional node it shows, one row per channel, the k pieces of input
(receptive fields) that excite the channel most over the whole dataset, strongest
first. Clicking a patch shows it in its whole image with the field's box, next to
the channel's activation map over that image.

The panel computes nothing: choosing a node emits :attr:`PatchesPanel.patches_requested`,
clicking a patch :attr:`PatchesPanel.patch_clicked`; the app runs the job (see
``app.run_inspector``) and hands the result to :meth:`PatchesPanel.show_patches` or
:meth:`PatchesPanel.show_detail`, or a one-line message to :meth:`PatchesPanel.show_error`.

The grid (:mod:`widgets.patches.grid`) paints only the rows in view; the detail is
:mod:`widgets.patches.detail`.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QSplitter, QVBoxLayout,
    QWidget,
)

from graph_engine.probes.patch_sets import TopPatches
from widgets.patches.detail import PatchDetailView
from widgets.patches.grid import (
    BAND_CHANNELS, GAP, LABEL_WIDTH, MARGIN, MIN_TILE, GridScroll, PatchGrid, format_value,
)
from widgets.pair_list_model import PairListModel
from widgets.theme import ERROR_STYLE, MUTED_STYLE

__all__ = ["BAND_CHANNELS", "NO_NODES_TEXT", "PatchDetailView", "PatchGrid", "PatchesPanel"]

NO_NODES_TEXT = "No layer of this network has a 2-d receptive field (add a Conv2d)"
#: the grid's share of the panel's width is sized for tiles of about this many pixels
PREFERRED_TILE = 36
#: the detail keeps at least this width when the splitter is fitted
DETAIL_WIDTH = 170
#: … and at least this height when it lies below the grid
DETAIL_HEIGHT = 130


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
        self._node_model = PairListModel(self.node_combo)
        self.node_combo.setModel(self._node_model)
        self.node_combo.setToolTip("A layer whose outputs are feature maps with a receptive field")
        self.node_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node_combo.setMinimumContentsLength(16)
        self.node_combo.activated.connect(self._node_chosen)
        self.show_button = QPushButton("Show")
        self.show_button.setToolTip("Search the whole dataset for each channel's strongest inputs "
                                    "(with the run's best checkpoint)")
        self.show_button.clicked.connect(self._show_clicked)
        self.scale_combo = QComboBox()
        self.scale_combo.addItem("per patch", "patch")
        self.scale_combo.addItem("per row", "row")
        self.scale_combo.setToolTip("Contrast: each patch stretched on its own, or one scale for a "
                                    "channel's row (a weak channel's patches stay faint)")
        self.scale_combo.currentIndexChanged.connect(
            lambda _index: self.grid.set_scale(self.scale_combo.currentData()))
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.node_combo, 1)
        controls.addWidget(self.show_button)
        controls.addWidget(QLabel("Scale"))
        controls.addWidget(self.scale_combo)

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
        self.scroll = GridScroll(self.grid)
        self.detail = PatchDetailView()
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(MUTED_STYLE)
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
        if nodes == getattr(self, "_nodes", None):
            return  # the same choice (most edits): a 10,000-entry list is not rebuilt
        self._nodes = list(nodes)
        current = self.current_node()
        self.node_combo.blockSignals(True)
        self._node_model.set_pairs(nodes)
        self.node_combo.setCurrentIndex(max(0, self._node_model.row_of(current)) if nodes else -1)
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
        self.detail.set_detail(detail.image, tuple(detail.box), detail.activation, detail.channel, unit,
                               getattr(detail, "crop", None))
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
        self.status.setStyleSheet(ERROR_STYLE if error else MUTED_STYLE if muted else "")
