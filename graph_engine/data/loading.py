"""``load_dataset``: a built-in name or a path, dispatched on what the path is."""

from __future__ import annotations

import re
from pathlib import Path

from graph_engine.data.base import DataError, Dataset, InputFit
from graph_engine.data.builtin import BUILTIN_DATASETS, load_builtin
from graph_engine.data.cifar import cifar_folder, load_cifar
from graph_engine.data.csv_file import load_csv
from graph_engine.data.files import regular_size
from graph_engine.data.folder import IMAGE_SUFFIXES, load_image_folder
from graph_engine.data.idx import find_idx, is_idx_images_file, load_idx
from graph_engine.data.npz import load_npz
from graph_engine.data.seq2seq import CAPTIONS_FILE, SEQ2SEQ_DATASETS
from graph_engine.data.split import check_fraction
from graph_engine.data.text import read_text_file, text_dataset

_CIFAR_BIN = re.compile(r"(data_batch_\d+|test_batch)\.bin")
_ARCHIVES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z")


def _is_idx_folder(path: Path) -> bool:
    return any(find_idx(folder, "train", "images") for folder in (path, path / "raw"))


def _refuse_pickled_cifar(path: Path) -> None:
    if path.name == "cifar-10-batches-py" or (path / "cifar-10-batches-py").is_dir() or (
            (path / "data_batch_1").is_file() and not (path / "data_batch_1.bin").is_file()):
        raise DataError(f"{path}: the pickled CIFAR-10 (python version) is never read, since unpickling "
                        "can run code; use the binary version (cifar-10-batches-bin)")


def _load_directory(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    if _is_idx_folder(path):
        return load_idx(path, fit, seed, fraction)
    if cifar_folder(path) is not None:
        return load_cifar(path, fit, seed, fraction)
    _refuse_pickled_cifar(path)
    return load_image_folder(path, fit, seed, fraction)


def _load_file(path: Path, fit: InputFit, seed: int, fraction: float) -> Dataset:
    regular_size(path)
    suffix = path.suffix.lower()
    if is_idx_images_file(path):
        return load_idx(path, fit, seed, fraction)
    if _CIFAR_BIN.fullmatch(path.name):
        return load_cifar(path.parent, fit, seed, fraction)
    if suffix == ".csv":
        return load_csv(path, fit, seed, fraction)
    if suffix == ".npz":
        return load_npz(path, fit, seed, fraction)
    if suffix in IMAGE_SUFFIXES:
        raise DataError(f"{path}: one image is not a dataset; use a folder with one sub-folder of "
                        "images per class")
    if suffix == ".npy":
        raise DataError(f"{path}: a single .npy array has no targets; save x and y together with "
                        "numpy.savez(path, x=features, y=targets)")
    if suffix in _ARCHIVES or path.name.lower().endswith((".tar.gz", ".tar.bz2")):
        raise DataError(f"{path}: an archive; unpack it first and load the folder")
    return text_dataset(path.name, str(path), read_text_file(path), fit, seed, fraction)


def load_dataset(spec: str, fit: InputFit, seed: int = 0, validation_fraction: float = 0.2,
                 noise: float | None = None) -> Dataset:
    """Load a built-in dataset or one from disk, already shaped for the graph's Input and Output.

    ``spec`` is one of :data:`BUILTIN_DATASETS` or a path: a folder of class sub-folders of
    PNG/JPEG images, a CIFAR-10 binary folder, MNIST-style idx files, a .csv, a .npz with x and
    y, or any other file as UTF-8 text for a character model. Nothing is ever downloaded.
    ``noise`` is the 2-D toy problems' jitter (blobs, xor, circles, moons, spiral).
    Raises :class:`DataError` (one line, naming the file) for anything unreadable or unfit.
    """
    fraction = check_fraction(validation_fraction)
    spec = str(spec)
    if spec in SEQ2SEQ_DATASETS:
        raise DataError(f"{spec} is sequence-to-sequence data: it trains a graph with two Inputs (the source and "
                        "the decoder's tokens), e.g. template:seq2seq_translator or template:shapes_captioner")
    if spec.lower().endswith(".tsv") or (Path(spec).is_dir() and (Path(spec) / CAPTIONS_FILE).is_file()):
        raise DataError(f"{spec}: source/target pairs train a graph with two Inputs (the source and the "
                        "decoder's tokens), e.g. template:seq2seq_translator or template:shapes_captioner")
    if spec in BUILTIN_DATASETS:
        return load_builtin(spec, fit, int(seed), fraction, noise)
    path = Path(spec).expanduser()
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as exc:
        raise DataError(f"{spec}: cannot read ({exc})") from None
    if not exists:
        raise DataError(f"{spec}: no such file or directory "
                        f"(built-in datasets: {', '.join(BUILTIN_DATASETS)})")
    try:
        if is_dir:
            return _load_directory(path, fit, int(seed), fraction)
        return _load_file(path, fit, int(seed), fraction)
    except PermissionError as exc:
        raise DataError(f"{exc.filename or spec}: permission denied") from None
    except OSError as exc:
        raise DataError(f"{exc.filename or spec}: cannot read ({exc.strerror or exc})") from None
