"""NumPy .npz archives holding arrays ``x`` (features, any per-sample shape) and ``y`` (targets)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.tabular import tabular_dataset


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """x and y, never unpickling (object arrays are refused)."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz archive "
                        "(save one with numpy.savez(path, x=features, y=targets))")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                found = ", ".join(archive.files) or "no arrays"
                raise DataError(f"{path}: no array {' or '.join(map(repr, missing))} (it has {found}); "
                                "save it with numpy.savez(path, x=features, y=targets)")
            x, y = archive["x"], archive["y"]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if x.ndim == 0 or y.ndim == 0:
        raise DataError(f"{path}: x and y need one sample per row (x is {x.shape}, y is {y.shape})")
    if len(x) != len(y):
        raise DataError(f"{path}: x has {len(x)} samples but y has {len(y)}")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: x holds {x.dtype} values; features must be numbers")
    if y.dtype.kind not in "biufUS":
        raise DataError(f"{path}: y holds {y.dtype} values; targets must be numbers or strings")
    return x, y


def load_npz(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """Classification, regression or segmentation, whichever y says (see ``infer_task``)."""
    x, y = read_npz(path)
    sample = "×".join(map(str, x.shape[1:])) or "1"
    return tabular_dataset(path.name, str(path), x, y, fit, seed, fraction, where=lambda i: f"row {i}",
                           what=f"samples of {sample} ({int(np.prod(x.shape[1:]))} values)",
                           extra={})
