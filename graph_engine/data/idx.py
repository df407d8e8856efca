"""MNIST / Fashion-MNIST idx files (plain or .gz); the t10k files, when present, are validation."""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from graph_engine.data.assemble import image_classification
from graph_engine.data._util import shape_text
from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.files import read_bounded, read_bytes

#: idx type byte -> big-endian numpy dtype
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
_SEPARATORS = ("-", ".")     # train-images-idx3-ubyte (LeCun) and train-images.idx3-ubyte (Kaggle)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is .gz (never past what memory holds)."""
    data = read_bytes(path)
    if path.suffix != ".gz":
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return read_bounded(stream, path)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """One idx array with ``ndim`` dimensions; a wrong magic number or a short file is refused."""
    data = _read_bytes(path)
    expected = f"0x000008{ndim:02x}"
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES or data[3] != ndim:
        magic = "0x" + data[:4].hex() if len(data) >= 4 else f"{len(data)} bytes"
        raise DataError(f"{path}: not an idx file with {ndim} dimension{'s' if ndim > 1 else ''} "
                        f"(magic number {magic}, expected {expected})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated idx file ({len(data)} bytes, the header alone is {header})")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[data[2]])
    need = header + math.prod(dims) * dtype.itemsize
    if len(data) < need:
        raise DataError(f"{path}: truncated idx file ({len(data)} bytes, {shape_text(dims)} needs {need})")
    return np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)


def find_idx(folder: Path, prefix: str, kind: str) -> Path | None:
    """``{prefix}-images-idx3-ubyte`` or ``…labels-idx1-ubyte`` in either naming, plain or .gz."""
    rank = "3" if kind == "images" else "1"
    for sep in _SEPARATORS:
        for suffix in ("", ".gz"):
            path = folder / f"{prefix}-{kind}{sep}idx{rank}-ubyte{suffix}"
            if path.is_file():
                return path
    return None


def is_idx_images_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith("idx3-ubyte")


def labels_beside(images: Path) -> Path:
    """The labels file named like the images file (images -> labels, idx3 -> idx1)."""
    gz = images.name.endswith(".gz")
    stem = images.name.removesuffix(".gz").replace("images", "labels").replace("idx3", "idx1")
    for name in (stem, stem + ".gz") if not gz else (stem + ".gz", stem):
        if (images.parent / name).is_file():
            return images.parent / name
    raise DataError(f"{images}: no labels file {stem} beside it")


def _pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise DataError(f"{labels_path}: {len(labels)} labels for the {len(images)} images "
                        f"of {images_path.name}")
    if images.dtype != np.uint8:
        scale = float(images.max()) if images.size and float(images.max()) > 0 else 1.0
        images = images.astype(np.float32) / scale
    return images[:, None], labels.astype(np.int64)


def _class_names(where: Path, labels: np.ndarray) -> list[str]:
    count = max(int(labels.max()) + 1 if labels.size else 0, 10)
    if count == 10 and "fashion" in str(where).lower():
        return list(FASHION_CLASSES)
    return [str(k) for k in range(count)]


def load_idx(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """A directory holding train-* (and maybe t10k-*) idx files, or one images file with its labels."""
    if path.is_dir():
        folder = path if find_idx(path, "train", "images") else path / "raw"
        train_images, train_labels = find_idx(folder, "train", "images"), find_idx(folder, "train", "labels")
        if train_images is None or train_labels is None:
            raise DataError(f"{path}: needs train-images-idx3-ubyte and train-labels-idx1-ubyte "
                            "(plain or .gz)")
        test_images, test_labels = find_idx(folder, "t10k", "images"), find_idx(folder, "t10k", "labels")
        name = path.name
    else:
        train_images, train_labels, test_images, test_labels = path, labels_beside(path), None, None
        name = path.parent.name or path.name
    x, y = _pair(train_images, train_labels)
    x_val = y_val = None
    if test_images is not None and test_labels is not None:
        x_val, y_val = _pair(test_images, test_labels)
    labels = y if y_val is None else np.concatenate([y, y_val])
    if labels.size and labels.min() < 0:
        raise DataError(f"{train_labels}: negative label {int(labels.min())}")
    return image_classification(name, str(path), x, y, _class_names(path, labels), fit, seed, fraction,
                                x_val, y_val)
