"""Shape image data to the graph's Input: channels, size, flattened or read row by row.

Every image source has a natural (C, H, W). One plan decides how it meets the Input, so the
same digits serve a CNN (1×8×8 or 1×32×32), an MLP (64,) and a GRU reading rows (8, 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from graph_engine.data._util import is_float_input, shape_text
from graph_engine.data.base import DataError, InputFit

IMAGE = "image"   # (C, H, W)
FLAT = "flat"     # (C·H·W,)
ROWS = "rows"     # (H, W): single-channel rows as a sequence of T=H steps of F=W features

#: ITU-R BT.601 luma weights, the same as Pillow's "L" conversion
LUMA = torch.tensor([0.299, 0.587, 0.114])

_CHUNK = 4096


@dataclass(frozen=True)
class ImagePlan:
    """How images of a natural shape become samples of the Input's shape."""

    natural: tuple[int, int, int]
    channels: int
    height: int
    width: int
    layout: str

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.layout == FLAT:
            return (self.channels * self.height * self.width,)
        if self.layout == ROWS:
            return (self.height, self.width)
        return (self.channels, self.height, self.width)


def fitting_inputs(natural: Sequence[int]) -> str:
    """The Input shapes that would take these images, for error messages."""
    c, h, w = natural
    options = ["(1, H, W)", "(3, H, W)", f"({c * h * w},)"]
    if c == 1:
        options.append(f"({h}, {w})")
    return ", ".join(options[:-1]) + " or " + options[-1]


def plan_image_fit(name: str, natural: Sequence[int], fit: InputFit) -> ImagePlan:
    """Decide channels, size and layout, or say which Inputs would fit."""
    c, h, w = (int(d) for d in natural)
    shape = tuple(int(d) for d in fit.shape)
    if not is_float_input(fit.dtype):
        raise DataError(f"{name}: images need a float Input, but the Input is {fit.dtype}; "
                        f"use a float32 Input of {fitting_inputs((c, h, w))}")
    if len(shape) == 3 and shape[0] in (1, 3) and shape[1] > 0 and shape[2] > 0:
        return ImagePlan((c, h, w), shape[0], shape[1], shape[2], IMAGE)
    if len(shape) == 1 and shape[0] == c * h * w:
        return ImagePlan((c, h, w), c, h, w, FLAT)
    if len(shape) == 2 and c == 1 and shape == (h, w):
        return ImagePlan((c, h, w), c, h, w, ROWS)
    raise DataError(f"{name}: {c}×{h}×{w} images do not fit the Input {shape_text(shape)}; "
                    f"use an Input of {fitting_inputs((c, h, w))}")


def _as_tensor(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A tensor view of the chunk (a copy only for read-only np.frombuffer views)."""
    if isinstance(images, torch.Tensor):
        return images
    array = np.ascontiguousarray(images)
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def _to_float(t: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 0..1; floats are taken as already in 0..1."""
    if t.dtype == torch.uint8:
        return t.to(torch.float32).div_(255.0)
    return t.to(torch.float32)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """1 -> 3 by repeating the grey channel; 3 -> 1 by luminance."""
    have = x.shape[1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1)
    if have == 3 and channels == 1:
        return torch.einsum("nchw,c->nhw", x, LUMA.to(x.dtype)).unsqueeze(1)
    raise DataError(f"cannot convert {have}-channel images to {channels} channels")


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinear resize, antialiased when shrinking so small Inputs do not alias."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    shrinking = height < h or width < w
    out = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                        antialias=shrinking)
    return out.clamp_(0.0, 1.0)


def fit_images(images: np.ndarray | torch.Tensor, plan: ImagePlan) -> torch.Tensor:
    """(N, C, H, W) uint8 or float images -> float32 samples of ``plan.sample_shape``.

    Works in chunks so a 60,000-image set never holds more than one float copy; when only the
    layout changes, pixels are converted straight into the result (no temporary per chunk).
    """
    n = int(images.shape[0])
    out = torch.empty((n, *plan.sample_shape), dtype=torch.float32)
    same = tuple(images.shape[1:]) == (plan.channels, plan.height, plan.width)
    for start in range(0, n, _CHUNK):
        chunk = _as_tensor(images[start:start + _CHUNK])
        dest = out[start:start + len(chunk)]
        if same:
            dest = dest.view(chunk.shape)
            dest.copy_(chunk)
            if chunk.dtype == torch.uint8:
                dest.div_(255.0)
            continue
        x = resize(convert_channels(_to_float(chunk), plan.channels), plan.height, plan.width)
        dest.copy_(x.reshape(dest.shape))
    return out
