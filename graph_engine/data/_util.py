"""Small helpers the readers share: shape text for messages, numpy -> torch without warnings."""

from __future__ import annotations

import numpy as np
import torch

from graph_engine.shape_format import shape_text  # noqa: F401 (the readers' messages)


def tensor(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A torch tensor that owns its memory (np.frombuffer arrays are read-only and torch warns)."""
    out = torch.from_numpy(np.array(array, copy=True, order="C"))
    return out.to(dtype) if out.dtype != dtype else out


def number_text(value: object) -> str:
    """A label or token as a person wrote it: 7, 2.5, 1e+30 (never ``np.float64(2.5)``)."""
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def is_float_input(dtype: str) -> bool:
    """Anything but an integer dtype is a float Input ("float", "float32", ...)."""
    return not str(dtype).startswith("int")
