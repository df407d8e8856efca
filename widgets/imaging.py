"""numpy images for the views: scaling to uint8, RGB, QImage, and the lookup tables.

- :func:`to_uint8` and :func:`image_rgb` scale real arrays to 0..255;
- :func:`rgb` turns a uint8 (C, H, W) or (H, W) image into (H, W, 3): grey for one
  channel, RGB for three, the channels' mean otherwise;
- :func:`to_qimage` wraps an (H, W, 3) uint8 array as a QImage for ``QPainter.drawImage``;
- lookup tables have 256 RGB entries (fixed levels 0..255, as pyqtgraph draws fastest):
  :data:`GREY_LUT`, :data:`VIRIDIS_LUT`, :func:`gradient_lut` through colour stops,
  :func:`lut_with_background` for mosaics with gaps, and :func:`class_lut`, one
  colour per class index.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QImage

#: a plain grey ramp (256 entries, RGB)
GREY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
#: viridis, dark blue (0) to yellow (255)
VIRIDIS_LUT = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False)
#: one colour per class index for masks (class 0, usually the background, a dark grey)
CLASS_COLORS: tuple[tuple[int, int, int], ...] = (
    (52, 52, 52), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210),
    (219, 219, 141), (158, 218, 229), (127, 127, 127),
)


# -- scaling ----------------------------------------------------------------------------
def to_uint8(values: np.ndarray) -> np.ndarray:
    """Min-max scale any real array to 0..255 uint8 (a constant or empty array gives 0s;
    NaN and ±Inf are ignored for the range and drawn as 0)."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.any():
        return np.zeros(array.shape, dtype=np.uint8)
    low, high = array[finite].min(), array[finite].max()
    if high <= low:
        return np.zeros(array.shape, dtype=np.uint8)
    scaled = np.where(finite, (array - low) * (255.0 / (high - low)), 0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def image_rgb(image: np.ndarray) -> np.ndarray:
    """A float (C, H, W) input as (H, W, 3) uint8, scaled as a whole so that the range
    from min(0, lowest) to max(0, highest) fills 0..255 (NaN as 0)."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float64))
    low, high = image.min(initial=0.0), image.max(initial=0.0)
    scaled = ((image - low) * (255.0 / (high - low)) if high > low else np.zeros_like(image)).round()
    return rgb(scaled.astype(np.uint8))


# -- RGB and QImage ---------------------------------------------------------------------
def rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (C, H, W) or (H, W) as contiguous (H, W, 3): grey for one channel, RGB for
    three, else the channels' mean (rounded) as grey."""
    if image.ndim == 2:
        image = image[None]
    if image.shape[0] == 3:
        return np.ascontiguousarray(image.transpose(1, 2, 0))
    grey = image[0] if image.shape[0] == 1 else image.mean(axis=0).round().astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def to_qimage(pixels: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 array as an RGB888 QImage that owns a copy of its pixels, so
    the image stays valid after the array is gone."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


# -- lookup tables ----------------------------------------------------------------------
def gradient_lut(colors: Sequence[str | tuple[int, int, int]]) -> np.ndarray:
    """A (256, 3) uint8 table through ``colors`` (names or RGB triples) at evenly spaced
    stops, linear in RGB, rounded."""
    anchors = np.array([pg.mkColor(c).getRgb()[:3] for c in colors], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(anchors))
    steps = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(steps, positions, anchors[:, c]) for c in range(3)],
                    axis=1).round().astype(np.uint8)


def lut_with_background(lut: np.ndarray, background: str | tuple[int, int, int]) -> np.ndarray:
    """``lut`` (256 RGB entries) squeezed into entries 1..255 with ``background`` at entry 0,
    to draw mosaics of :func:`widgets.image_grid.reserve_zero` images with gaps in the
    background colour."""
    lut = np.asarray(lut, dtype=np.uint8)[:, :3]
    squeezed = lut[np.linspace(0, len(lut) - 1, 255).round().astype(int)]
    first = np.array(pg.mkColor(background).getRgb()[:3], dtype=np.uint8)
    return np.vstack([first[None, :], squeezed])


def class_color(index: int) -> tuple[int, int, int]:
    """The colour of class ``index``: a fixed table, then golden-angle hues."""
    if index < len(CLASS_COLORS):
        return CLASS_COLORS[index]
    color = QColor.fromHsvF((index * 0.618034) % 1.0, 0.65, 0.9)
    return color.red(), color.green(), color.blue()


def class_lut(count: int) -> np.ndarray:
    """(count, 3) uint8 colours of classes 0 … count − 1."""
    return np.array([class_color(i) for i in range(max(1, count))], dtype=np.uint8)
