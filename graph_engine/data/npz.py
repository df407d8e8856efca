"""NumPy .npz archives holding arrays ``x`` (features, any per-sample shape) and ``y`` (targets)."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from graph_engine.data._util import shape_text
from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.files import check_memory
from graph_engine.data.tabular import tabular_dataset


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _declared_bytes(path: Path, archive: zipfile.ZipFile, member: str) -> int:
    """The bytes ``member``'s header declares, refused when the member holds fewer: numpy
    allocates the declared size before reading, so a forged header of 10¹¹ rows is a MemoryError."""
    info = archive.getinfo(member)
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version not in _HEADER_READERS:
            raise DataError(f"{path}: {member} is .npy format {version[0]}.{version[1]}; "
                            "save it with numpy.savez(path, x=features, y=targets)")
        shape, _, dtype = _HEADER_READERS[version](stream)
        held = info.file_size - stream.tell()
    declared = math.prod(shape) * dtype.itemsize
    if declared > held:
        raise DataError(f"{path}: {member} declares {shape_text(shape)} {dtype} values ({declared:,} bytes) "
                        f"but holds {held:,} bytes; the file is damaged")
    return declared


def check_sizes(path: Path) -> None:
    """Refuse x and y that the archive does not hold, or that memory cannot, before loading them."""
    with zipfile.ZipFile(path) as archive:
        members = [name for name in ("x.npy", "y.npy") if name in archive.namelist()]
        total = sum(_declared_bytes(path, archive, name) for name in members)
    check_memory(path, total, "its arrays x and y")


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """x and y, never unpickling (object arrays are refused)."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz archive "
                        "(save one with numpy.savez(path, x=features, y=targets))")
    try:
        check_sizes(path)
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
