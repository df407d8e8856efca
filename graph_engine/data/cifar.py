"""CIFAR-10, binary version only (records of 1 label byte + 3,072 pixel bytes).

The pickled "python version" is never read: unpickling a downloaded file can run code.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from graph_engine.data.assemble import image_classification
from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.files import read_bytes

RECORD = 1 + 3 * 32 * 32
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FOLDER_NAME = "cifar-10-batches-bin"
_BATCH = re.compile(r"data_batch_(\d+)\.bin")


def cifar_folder(path: Path) -> Path | None:
    """The folder holding the .bin batches: ``path`` itself or its cifar-10-batches-bin child."""
    if path.is_dir():
        if any(_BATCH.fullmatch(p.name) for p in path.iterdir()) or (path / "test_batch.bin").is_file():
            return path
        if (path / FOLDER_NAME).is_dir():
            return path / FOLDER_NAME
        if path.name == FOLDER_NAME:
            return path
    return None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, 32, 32) uint8 images and (N,) labels from one .bin file."""
    data = read_bytes(path)
    if len(data) == 0 or len(data) % RECORD:
        hint = (" (2 label bytes per record: CIFAR-100, which is not supported)"
                if data and len(data) % (RECORD + 1) == 0 else "")
        raise DataError(f"{path}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 "
                        f"records{hint}")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CIFAR10_CLASSES))
    if len(bad):
        raise DataError(f"{path}: record {int(bad[0])} has label {int(labels[bad[0]])}; "
                        f"CIFAR-10 labels are 0..{len(CIFAR10_CLASSES) - 1}")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _class_names(folder: Path) -> list[str]:
    meta = folder / "batches.meta.txt"
    if meta.is_file():
        names = [line.strip() for line in meta.read_text(encoding="utf-8", errors="replace").splitlines()]
        names = [n for n in names if n]
        if len(names) == len(CIFAR10_CLASSES):
            return names
    return list(CIFAR10_CLASSES)


def load_cifar(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """data_batch_*.bin for training; test_batch.bin, when present, for validation."""
    folder = cifar_folder(path) or path
    batches = sorted((p for p in folder.iterdir() if _BATCH.fullmatch(p.name)),
                     key=lambda p: int(_BATCH.fullmatch(p.name).group(1)))
    if not batches:
        raise DataError(f"{folder}: no data_batch_*.bin files (CIFAR-10 binary version)")
    parts = [read_batch(p) for p in batches]
    images = np.concatenate([im for im, _ in parts])
    labels = np.concatenate([lb for _, lb in parts])
    test = folder / "test_batch.bin"
    val_images = val_labels = None
    if test.is_file():
        val_images, val_labels = read_batch(test)
    name = "cifar-10" if folder.name == FOLDER_NAME else folder.name
    return image_classification(name, str(path), images, labels, _class_names(folder), fit, seed, fraction,
                                val_images, val_labels)
