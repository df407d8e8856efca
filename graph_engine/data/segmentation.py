"""Per-pixel class masks shaped to the Output: resized nearest-neighbour, channels checked."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from graph_engine.data._util import shape_text, tensor
from graph_engine.data.base import DataError


def check_segmentation_output(name: str, num_classes: int, output_shape: tuple[int, ...] | None) -> None:
    """A segmenter's Output is (K, H, W) with one channel per class (K ≥ num_classes)."""
    if output_shape is None:
        return
    if len(output_shape) != 3:
        raise DataError(f"{name}: a segmentation Output must be (K, H, W), one score map per class, "
                        f"but the graph's Output is {shape_text(output_shape)}")
    if int(output_shape[0]) < num_classes:
        raise DataError(f"{name} has {num_classes} classes but the graph's Output has "
                        f"{output_shape[0]} channels; set the last Conv2d's out_channels to {num_classes}")


def fit_masks(masks: np.ndarray | torch.Tensor, output_shape: tuple[int, ...] | None) -> torch.Tensor:
    """(N, H, W) class masks -> int64, resized nearest-neighbour to the Output's H×W.

    "nearest-exact" picks the source pixel whose centre is nearest, so class boundaries do not
    shift by half a pixel as with torch's legacy "nearest".
    """
    m = masks if isinstance(masks, torch.Tensor) else tensor(np.asarray(masks), torch.int64)
    m = m.to(torch.int64)
    if output_shape is None or tuple(m.shape[-2:]) == tuple(int(d) for d in output_shape[-2:]):
        return m.contiguous()
    size = (int(output_shape[-2]), int(output_shape[-1]))
    resized = F.interpolate(m.unsqueeze(1).to(torch.float32), size=size, mode="nearest-exact")
    return resized.squeeze(1).round_().to(torch.int64)
