"""Small helpers the readers share: shape text for messages, numpy -> torch without warnings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def shape_text(shape: Sequence[int]) -> str:
    """``(1, 8, 8)`` -> ``1×8×8``: the way the editor labels edges, so messages read the same."""
    return "×".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A torch tensor that owns its memory (np.frombuffer arrays are read-only and torch warns)."""
    out = torch.from_numpy(np.array(array, copy=True, order="C"))
    return out.to(dtype) if out.dtype != dtype else out


def is_float_input(dtype: str) -> bool:
    """Anything but an integer dtype is a float Input ("float", "float32", ...)."""
    return not str(dtype).startswith("int")
