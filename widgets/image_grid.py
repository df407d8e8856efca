"""Tile many small uint8 images into one mosaic for a single ``pg.ImageItem``.

One image item with one uint8 array and fixed levels draws 64 feature maps as fast
as one; 64 items would not. Tiles are placed row by row with ``gap`` pixels of
``background`` between them, optionally enlarged by whole pixels (nearest neighbour,
so a 3×3 kernel stays nine crisp squares). :func:`tile_at` maps a pixel of the mosaic
back to the tile under it (hover and click).

Gaps get their own colour by reserving entry 0 of the lookup table: images are
squeezed into 1..255 by :func:`reserve_zero`, gaps are 0, and
:func:`widgets.imaging.lut_with_background` puts the background colour at entry 0.
:class:`MosaicView` shows such a mosaic without axes.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

def grid_columns(count: int, tile_height: int, tile_width: int, aspect: float = 4 / 3) -> int:
    """The column count that makes ``count`` tiles largest in a box of width / height
    ``aspect``; among equal sizes, the layout with fewer empty cells."""
    if count <= 0:
        return 1
    best, best_key = 1, None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        size = min(aspect / (columns * tile_width), 1.0 / (rows * tile_height))
        key = (-round(size, 9), rows * columns - count)
        if best_key is None or key < best_key:
            best, best_key = columns, key
    return best


def tile(images: np.ndarray | Sequence[np.ndarray], columns: int | None = None, gap: int = 1,
         background: int | Sequence[int] = 0, scale: int = 1, aspect: float = 4 / 3) -> np.ndarray:
    """One uint8 mosaic of ``images`` ((N, H, W) grey or (N, H, W, C) colour), row-major.

    ``columns`` defaults to :func:`grid_columns` for ``aspect``; ``scale`` enlarges each
    tile by repeating pixels; ``background`` fills the gaps and empty cells (a number,
    or one value per colour channel). Returns (rows·h + (rows−1)·gap, columns·w + …[, C])
    with h, w the enlarged tile size; no images gives a (0, 0[, C]) array.
    """
    stack = np.asarray(images)
    if stack.ndim not in (3, 4):
        raise ValueError(f"expected (N, H, W) or (N, H, W, C) images, got shape {stack.shape}")
    if stack.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {stack.dtype}")
    if scale < 1 or gap < 0:
        raise ValueError(f"scale must be ≥ 1 and gap ≥ 0, got scale={scale}, gap={gap}")
    count = stack.shape[0]
    channels = stack.shape[3:]
    if count == 0:
        return np.zeros((0, 0, *channels), dtype=np.uint8)
    if scale > 1:
        stack = stack.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = stack.shape[1:3]
    columns = max(1, min(columns or grid_columns(count, height, width, aspect), count))
    rows = math.ceil(count / columns)
    out = np.empty((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap,
                    *channels), dtype=np.uint8)
    out[...] = np.asarray(background, dtype=np.uint8)
    for index in range(count):
        top, left = tile_origin(index, columns, (height, width), gap)
        out[top:top + height, left:left + width] = stack[index]
    return out


def tile_origin(index: int, columns: int, tile_shape: tuple[int, int], gap: int = 1) -> tuple[int, int]:
    """(top, left) pixel of tile ``index`` in a mosaic (``tile_shape`` after enlarging)."""
    row, column = divmod(index, columns)
    height, width = tile_shape
    return row * (height + gap), column * (width + gap)


def tile_at(y: float, x: float, count: int, columns: int, tile_shape: tuple[int, int],
            gap: int = 1) -> int | None:
    """The index of the tile covering mosaic pixel (y, x); None over a gap or empty cell."""
    if y < 0 or x < 0:
        return None
    height, width = tile_shape
    row, dy = divmod(int(y), height + gap)
    column, dx = divmod(int(x), width + gap)
    if dy >= height or dx >= width or column >= columns:
        return None
    index = row * columns + column
    return index if index < count else None


def reserve_zero(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> 1..255 (rounded), keeping 0 free for the gaps of a mosaic."""
    return (1 + (np.asarray(images, dtype=np.uint16) * 254 + 127) // 255).astype(np.uint8)


class MosaicView(pg.GraphicsView):
    """One uint8 ImageItem (fixed levels 0..255, no auto-levels) in a ViewBox without axes
    or mouse interaction; rows go down as in the array. ``resized`` lets an owner re-tile
    for the new :meth:`aspect`."""

    resized = Signal()

    def __init__(self, background: str = "#ffffff", parent: QWidget | None = None):
        super().__init__(parent, background=background)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.setCentralItem(self.box)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self._shape: tuple[int, ...] | None = None

    def show_image(self, image: np.ndarray, lut: np.ndarray | None, keep_aspect: bool = True) -> None:
        """Show ``image`` ((H, W) through ``lut``, or (H, W, 3) colour with ``lut`` None)."""
        self.image.setLookupTable(lut, update=False)
        self.image.setImage(image, autoLevels=False, levels=(0, 255))
        if image.shape != self._shape:
            self._shape = image.shape
            self.box.setAspectLocked(keep_aspect)
            self.box.autoRange(padding=0.02)

    def aspect(self) -> float:
        """Width / height of the view in quarter steps of log2, so that small resizes keep
        a layout."""
        ratio = max(1, self.width()) / max(1, self.height())
        return round(2 ** (round(math.log2(ratio) * 4) / 4), 3)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self.resized.emit()
