"""The top patches of a layer's channels as plain arrays: what the Patches view draws.

Torch-free, so that the editor's Patches view loads without torch; the patches are found by
:func:`graph_engine.probes.patches.top_patches`, in the training process or a job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: how patches are scaled to 0..255: each on its own, or one scale shared by a channel's row
SCALES = ("patch", "row")


@dataclass
class TopPatches:
    """The k strongest units of each channel of ``node_id`` and what they see.

    Rank 0 is the strongest; ties are broken arbitrarily. ``boxes`` are the units'
    receptive fields, input pixel rows/columns ``[y0, y1) × [x0, x1)``, and may reach
    past the image. ``patches`` show each box cut to at most the image's size around its
    centre (:func:`graph_engine.probes.patches.crop_box`), zero-filled past the border, downscaled to at most
    ``patches.STORED_PIXELS`` a side and min-max scaled to 0..255 on its own (an input with other
    than 1 or 3 channels is averaged to 1); ``ranges`` keep each patch's input values
    at 0 and 255, so :func:`scaled_patches` can give a row one shared scale.
    """

    node_id: str
    step: int
    #: (C, k) float32, each channel's maxima in descending order
    values: np.ndarray
    #: (C, k) int64, index into the dataset
    sample_indices: np.ndarray
    #: (C, k, 2) int64, output (row, col) of the unit
    positions: np.ndarray
    #: (C, k, 4) int64, (y0, x0, y1, x1) in input pixels
    boxes: np.ndarray
    #: (C, k, C_in, ph, pw) uint8 display images, each min-max scaled on its own
    patches: np.ndarray
    #: (C, k, 2) float32, the input values each patch's 0 and 255 stand for
    ranges: np.ndarray | None = None

    @property
    def k(self) -> int:
        return int(self.values.shape[1])


def scaled_patches(top: TopPatches, scale: str = "patch") -> np.ndarray:
    """``top.patches`` with ``scale`` "patch" (each min-max scaled on its own, as stored) or
    "row": one scale for each channel's k patches, so a channel whose best inputs are faint
    looks faint instead of being stretched to full contrast."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "patch" or top.ranges is None or top.patches.size == 0:
        return top.patches
    low, high = top.ranges[..., 0].astype(np.float64), top.ranges[..., 1].astype(np.float64)
    row_low = low.min(axis=1, keepdims=True)
    row_span = np.maximum(high.max(axis=1, keepdims=True) - row_low, 1e-30)
    # a stored byte b stands for low + b/255·(high − low); map that onto the row's range
    gain = ((high - low) / row_span)[..., None, None, None]
    offset = ((low - row_low) / row_span * 255.0)[..., None, None, None]
    return np.clip(np.rint(top.patches * gain + offset), 0, 255).astype(np.uint8)


__all__ = ["SCALES", "TopPatches", "scaled_patches"]
