"""The Filters panel: the first convolution layer's kernels, enlarged, as one image.

The first layer's filters are the only weights a person can read directly: edge,
blob and colour detectors emerge during training. The probe sends them as uint8
(out, in, kh, kw), each filter scaled by its largest |weight| so that 128 is a zero
weight; they are drawn with a grey ramp at fixed levels, so light is positive and
dark negative whatever the filter's scale.

Layout of the grid: with 3 input channels each filter is one colour tile (the
channels as R, G, B); otherwise each tile shows the filter's kernels for its first
:data:`MAX_INPUTS` input channels side by side (one channel: one kernel), and
filters are separated by wider gaps than the kernels within a filter.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from widgets.image_grid import MosaicView, reserve_zero, tile
from widgets.imaging import GREY_LUT, lut_with_background
from widgets.theme import PLACEHOLDER_STYLE

if TYPE_CHECKING:
    from graph_engine.training.history import RunHistory

#: kernels are enlarged (nearest neighbour) to at least this many pixels a side
MIN_KERNEL_PIXELS = 24
#: at most this many input channels are shown per filter (a wider tile is unreadable)
MAX_INPUTS = 8
#: pixels between the kernels of one filter, and between filters
KERNEL_GAP = 1
FILTER_GAP = 4
#: a tinted background: any grey would read as a weight
BACKGROUND = "#d6e0f0"
BACKGROUND_RGB = (0xd6, 0xe0, 0xf0)
FILTER_LUT = lut_with_background(GREY_LUT, BACKGROUND)


def filter_mosaic(filters: np.ndarray, aspect: float = 4 / 3) -> tuple[np.ndarray, int]:
    """(mosaic, input channels shown) of uint8 (out, in, kh, kw) filters.

    A (H, W) mosaic has 0 for gaps and weights in 1..255 (draw it through
    :data:`FILTER_LUT`); an RGB (H, W, 3) mosaic (in == 3) has gaps in the background colour."""
    array = np.asarray(filters, dtype=np.uint8)
    if array.ndim != 4:
        raise ValueError(f"expected (out, in, kh, kw) filters, got shape {array.shape}")
    out, inputs, height, width = array.shape
    scale = max(1, math.ceil(MIN_KERNEL_PIXELS / max(1, min(height, width))))
    if inputs == 3:
        colour = np.ascontiguousarray(array.transpose(0, 2, 3, 1))
        return tile(colour, gap=FILTER_GAP, background=BACKGROUND_RGB, scale=scale, aspect=aspect), 3
    shown = min(inputs, MAX_INPUTS)
    kernels = reserve_zero(array[:, :shown])
    if shown == 1:
        return tile(kernels[:, 0], gap=FILTER_GAP, scale=scale, aspect=aspect), 1
    rows = np.stack([tile(kernels[i], columns=shown, gap=KERNEL_GAP, scale=scale) for i in range(out)])
    return tile(rows, gap=FILTER_GAP, aspect=aspect), shown


class FiltersPanel(QWidget):
    """A title line and the first convolution layer's filters (see the module docstring).

    Redraws only when the filters probe brings a new step."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._seen: tuple[int, int] | None = None
        self._filters: np.ndarray | None = None
        self._layer: str | None = None
        self._drawn_aspect: float | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.view = MosaicView(BACKGROUND)
        self.view.resized.connect(self._redraw_for_size)
        self.placeholder = QLabel("The first convolution layer's filters appear at the first probe "
                                  "of a training run.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet(PLACEHOLDER_STYLE)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self._show_empty()

    @property
    def step(self) -> int | None:
        """The step of the filters shown (None when none are)."""
        return self._seen[0] if self._seen is not None else None

    def set_history(self, history: "RunHistory | None") -> None:
        self._history = history
        self._seen = None
        self.refresh()

    def refresh(self) -> None:
        """Redraw when the filters probe has a new step (cheap otherwise)."""
        history = self._history
        probe = history.probes.get("filters") if history is not None else None
        if probe is None:
            if self._filters is not None:
                self._seen = None
                self._show_empty()
            return
        key = (probe.step, id(probe))
        if key == self._seen:
            return
        self._seen = key
        self._filters = np.asarray(probe.data["filters"])
        self._layer = probe.data.get("node")
        self._draw()

    def _show_empty(self) -> None:
        self._filters = None
        self.title.setText("First-layer filters")
        self.stack.setCurrentWidget(self.placeholder)

    def _redraw_for_size(self) -> None:
        if self._filters is not None and self.view.aspect() != self._drawn_aspect:
            self._draw()

    def _draw(self) -> None:
        filters = self._filters
        aspect = self.view.aspect()
        self._drawn_aspect = aspect
        mosaic, shown = filter_mosaic(filters, aspect)
        self.view.show_image(mosaic, FILTER_LUT if mosaic.ndim == 2 else None)
        self.stack.setCurrentWidget(self.view)
        out, inputs, height, width = filters.shape
        name = self._layer or "First conv layer"
        legend = ("R, G, B = input channels; mid = 0" if inputs == 3
                  else "grey = 0, light = positive, dark = negative")
        channels = ""
        if inputs != 3 and inputs > 1:
            channels = (f"; each tile: its kernels for input channels 1–{shown}"
                        + (f" of {inputs}" if shown < inputs else ""))
        self.title.setText(f"{name} filters at step {self.step} ({legend}) — "
                           f"{out} filters, {height}×{width}{channels}")
