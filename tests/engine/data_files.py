"""Builders for small dataset files on disk (image folders, idx, CIFAR bins, CSV, NPZ, text)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def write_image_folder(root: Path, classes: dict[str, int], size=(12, 10), seed: int = 0) -> Path:
    """One sub-folder per class; alternating PNG (RGB or grey) and JPEG files of ``size`` (w, h)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, count in classes.items():
        folder = root / name
        folder.mkdir()
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            if i % 3 == 0:
                Image.fromarray(pixels).save(folder / f"{i}.png")
            elif i % 3 == 1:
                Image.fromarray(pixels[..., 0]).save(folder / f"{i}.png")
            else:
                Image.fromarray(pixels).save(folder / f"{i}.jpg", quality=90)
    return root


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx (MNIST) file of uint8 data."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> Path:
    """``{prefix}-images-idx3-ubyte`` and ``{prefix}-labels-idx1-ubyte`` (optionally gzipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    paths = []
    for kind, rank, array in (("images", 3, images), ("labels", 1, labels)):
        path = folder / f"{prefix}-{kind}-idx{rank}-ubyte{suffix}"
        data = idx_bytes(array)
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    return paths[0]


def cifar_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR-10 binary records: label byte then 3×32×32 pixel bytes."""
    records = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None],
                              np.asarray(images, dtype=np.uint8).reshape(len(labels), -1)], axis=1)
    return records.tobytes()


def write_cifar(folder: Path, batches: int = 2, per_batch: int = 20, test: int = 10, seed: int = 0) -> Path:
    """A tiny cifar-10-batches-bin folder with ``batches`` data batches and a test batch."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for b in range(1, batches + 1):
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        (folder / f"data_batch_{b}.bin").write_bytes(cifar_bytes(images, np.arange(per_batch) % 10))
    if test:
        images = rng.integers(0, 256, (test, 3, 32, 32), dtype=np.uint8)
        (folder / "test_batch.bin").write_bytes(cifar_bytes(images, np.arange(test) % 10))
    return folder
