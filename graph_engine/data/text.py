"""Character-level text: a vocabulary the Output can score, cut into next-character windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from graph_engine.data._util import is_float_input, shape_text, tensor
from graph_engine.data.base import LANGUAGE_MODEL, DataError, Dataset, InputFit
from graph_engine.data.files import TEXT_EXPANSION, read_bytes
from graph_engine.data.split import split_indices

UNKNOWN = "\ufffd"
_NEEDS = "text needs an int64 Input of shape (T,) feeding an Embedding"


def read_text_file(path: Path) -> str:
    """UTF-8 text (a leading BOM dropped, CRLF -> LF); refuses other encodings with the byte offset."""
    data = read_bytes(path, TEXT_EXPANSION)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at byte offset "
                        f"{exc.start}); save it as UTF-8") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def build_vocabulary(text: str, max_size: int | None = None) -> tuple[str, np.ndarray, int]:
    """(vocabulary, character indices, number of characters mapped to UNKNOWN).

    The vocabulary is the sorted distinct characters. When there are more than ``max_size``
    (what the Output can score), the ``max_size - 1`` most frequent stay (ties by character)
    and the rest become one UNKNOWN character, last in the vocabulary.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    distinct, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    if max_size is None or len(distinct) <= max_size:
        return "".join(map(chr, distinct)), inverse.astype(np.int64), 0
    candidates = np.flatnonzero(distinct != ord(UNKNOWN))
    by_frequency = candidates[np.lexsort((distinct[candidates], -counts[candidates]))]
    kept = np.sort(by_frequency[:max_size - 1])
    lookup = np.full(len(distinct), max_size - 1, dtype=np.int64)
    lookup[kept] = np.arange(len(kept))
    ids = lookup[inverse]
    vocabulary = "".join(map(chr, distinct[kept])) + UNKNOWN
    return vocabulary, ids, int(np.count_nonzero(ids == max_size - 1))


def _window(name: str, fit: InputFit) -> tuple[int, int | None]:
    """Window length T from the Input and the number of scores per position from the Output."""
    shape = tuple(int(d) for d in fit.shape)
    if is_float_input(fit.dtype) or len(shape) != 1 or shape[0] < 1:
        raise DataError(f"{name}: {_NEEDS}; the Input is {fit.dtype} of shape {shape_text(shape)}")
    window = shape[0]
    out = fit.output_shape
    if out is None:
        return window, None
    out = tuple(int(d) for d in out)
    if len(out) != 2 or out[0] != window:
        raise DataError(f"{name}: a character model's Output must be ({window}, V), one score per "
                        f"character at each of the {window} positions, but the graph's Output is "
                        f"{shape_text(out)}")
    if out[1] < 2:
        raise DataError(f"{name}: the Output scores {out[1]} character per position; "
                        "set the last Linear's out_features to the vocabulary size (e.g. 128)")
    return window, out[1]


def text_dataset(name: str, source: str, text: str, fit: InputFit, seed: int, fraction: float) -> Dataset:
    """Non-overlapping windows of T characters; targets are the same windows one character on.

    Windows are split into train/validation at random from the seed, so validation covers the
    whole corpus rather than its last topics.
    """
    where = name if source == "built-in" else source      # messages name the file
    window, max_size = _window(where, fit)
    if not text:
        raise DataError(f"{where}: the text is empty")
    if len(text) < window + 1:
        raise DataError(f"{where}: {len(text)} characters is "
                        f"shorter than one window ({window} characters and the next one); "
                        "use a shorter Input or more text")
    vocabulary, ids, unknown = build_vocabulary(text, max_size)
    n = (len(ids) - 1) // window
    x = ids[:n * window].reshape(n, window)
    y = ids[1:n * window + 1].reshape(n, window)
    train, val = split_indices(n, fraction, seed)
    return Dataset(
        name=name, task=LANGUAGE_MODEL,
        x_train=tensor(x[train], torch.int64), y_train=tensor(y[train], torch.int64),
        x_val=tensor(x[val], torch.int64), y_val=tensor(y[val], torch.int64),
        num_classes=len(vocabulary), vocabulary=vocabulary, source=source,
        extra={"characters": len(text), "unknown_characters": unknown, "window": window,
               "validation": "split"})
