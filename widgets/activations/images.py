"""The Activations panel's pictures as arrays: a sample as an image, a node's feature
maps as one mosaic, and its activation histograms over time as one image."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF

from widgets.image_grid import grid_columns, reserve_zero, tile
from widgets.imaging import VIRIDIS_LUT, gradient_lut, lut_with_background, to_uint8
from widgets.plot_style import BACKGROUND

#: the histogram-over-time image has at most this many columns (probes are resampled)
MAX_HISTOGRAM_COLUMNS = 400
#: tiles smaller than this (pixels) are enlarged before tiling, so 1-px gaps stay thin
MIN_TILE = 16
#: feature maps: viridis, gaps white
FEATURE_LUT = lut_with_background(VIRIDIS_LUT, BACKGROUND)
#: histograms over time: white (no values) to deep blue (many)
DENSITY_LUT = gradient_lut(["#ffffff", "#bfdbfe", "#3b82f6", "#1e3a8a"])


def display_image(sample: np.ndarray) -> tuple[np.ndarray | None, str]:
    """A validation sample as an image for display, or as text where it is no image.

    (1, H, W) -> grey (H, W); (3, H, W) -> colour (H, W, 3); other (C, H, W) -> channel 0;
    (H, W) -> grey; 1-D (e.g. token ids) -> (None, "[12, 5, 33, … ] (64 values)")."""
    array = np.asarray(sample)
    if array.ndim == 3:
        if array.shape[0] == 3:
            return to_uint8(np.moveaxis(array, 0, -1)), ""
        return to_uint8(array[0]), ""
    if array.ndim == 2:
        return to_uint8(array), ""
    flat = array.reshape(-1)
    shown = ", ".join(_short_number(v) for v in flat[:12])
    more = ", …" if flat.size > 12 else ""
    return None, f"[{shown}{more}] ({flat.size} values)"


def _short_number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.3g}"


def feature_mosaic(maps: np.ndarray, aspect: float = 4 / 3) -> tuple[np.ndarray, bool]:
    """(mosaic uint8 with 0 = gap, keep aspect) for one node's uint8 feature maps, laid
    out for a view of width / height ``aspect``.

    (C, H, W): the channels tiled; (C, L): one row per channel (stretched to fit);
    (F,): one pixel per unit, tiled into a grid."""
    array = np.asarray(maps, dtype=np.uint8)
    if array.ndim == 3:
        scale = max(1, math.ceil(MIN_TILE / max(1, min(array.shape[1:]))))
        return tile(reserve_zero(array), gap=1, scale=scale, aspect=aspect), True
    if array.ndim == 2:
        return reserve_zero(array), False
    units = reserve_zero(array.reshape(-1, 1, 1))
    return tile(units, columns=grid_columns(len(units), 1, 1, aspect), gap=0), True


def histogram_image(histograms: list[tuple[int, np.ndarray, tuple[float, float]]],
                    max_columns: int = MAX_HISTOGRAM_COLUMNS) -> tuple[np.ndarray, QRectF]:
    """(bins × columns uint8 image, its rectangle in (step, value) coordinates).

    Columns are evenly spaced steps, each showing the nearest probe (at most
    ``max_columns``, so a long run costs no more than a short one); older histograms
    are re-binned into the newest range (ranges only ever widen); intensity is
    log(1 + count) scaled to the image's maximum."""
    steps = np.array([entry[0] for entry in histograms], dtype=np.float64)
    picked = np.arange(len(steps))
    if len(steps) > 1 and steps[-1] > steps[0]:
        even = np.linspace(steps[0], steps[-1], min(len(steps), max_columns))
        nearest = np.clip(np.searchsorted(steps, even), 1, len(steps) - 1)
        picked = nearest - ((even - steps[nearest - 1]) < (steps[nearest] - even))
    low, high = histograms[-1][2]
    bins = len(histograms[-1][1])
    matrix = np.zeros((bins, len(picked)), dtype=np.float64)
    for column, index in enumerate(picked):
        _, counts, (lo, hi) = histograms[index]
        counts = np.asarray(counts, dtype=np.float64)
        if (lo, hi) == (low, high) and len(counts) == bins:
            matrix[:, column] = counts
            continue
        centres = lo + (np.arange(len(counts)) + 0.5) * (hi - lo) / len(counts)
        target = np.clip(((centres - low) / (high - low) * bins).astype(int), 0, bins - 1)
        matrix[:, column] = np.bincount(target, weights=counts, minlength=bins)
    density = np.log1p(matrix)
    peak = density.max()
    image = (density * (255.0 / peak)).round().astype(np.uint8) if peak > 0 else \
        np.zeros(density.shape, dtype=np.uint8)
    width = steps[-1] - steps[0] if len(steps) > 1 and steps[-1] > steps[0] else 1.0
    return image, QRectF(steps[0], low, width, high - low)
