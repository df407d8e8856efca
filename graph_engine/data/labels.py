"""What the targets mean (the task) and whether the graph's Output can score them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from graph_engine.data._util import number_text, shape_text
from graph_engine.data.base import CLASSIFICATION, REGRESSION, SEGMENTATION, DataError

#: class labels are 0..MAX_CLASSES-1: a larger one is a mistake, not a classifier to build
MAX_CLASSES = 1_000_000


def _integer_valued(y: np.ndarray) -> bool:
    if y.dtype.kind in "biu":
        return True
    if y.dtype.kind != "f":
        return False
    return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def infer_task(y: np.ndarray, output_shape: tuple[int, ...] | None = None,
               x_shape: tuple[int, ...] | None = None) -> str:
    """Classification, regression or segmentation from the targets themselves.

    - strings or integer dtype: class labels (integer masks (N, H, W) beside images
      (N, C, H, W) are per-pixel classes: segmentation);
    - floats that are all whole numbers: class labels too, unless the Output has a single
      unit or the targets have a per-sample shape (one unit cannot score classes);
    - other floats: regression.
    Text is never passed here: it is always a language model.
    """
    if y.dtype.kind in "US":
        return CLASSIFICATION
    if y.dtype.kind == "O":
        raise DataError("targets are Python objects; save numbers or strings")
    if (y.ndim == 3 and x_shape is not None and len(x_shape) == 4
            and tuple(x_shape[-2:]) == tuple(y.shape[-2:]) and _integer_valued(y)):
        return SEGMENTATION
    if y.dtype.kind in "biu":
        return CLASSIFICATION
    if y.ndim == 1 and _integer_valued(y) and tuple(output_shape or ()) != (1,):
        return CLASSIFICATION
    return REGRESSION


def check_classifier_output(name: str, num_classes: int, output_shape: tuple[int, ...] | None) -> None:
    """The Output must be (K,) with K ≥ the number of classes; say which layer to change."""
    if num_classes < 2:
        raise DataError(f"{name}: only {num_classes} class found; classification needs at least two")
    if output_shape is None:
        return
    if len(output_shape) != 1:
        raise DataError(f"{name}: a classifier's Output must be (K,), one score per class, but the "
                        f"graph's Output is {shape_text(output_shape)}; end with a Linear of "
                        f"{num_classes} out_features")
    units = int(output_shape[0])
    if num_classes > units:
        raise DataError(f"{name} has {num_classes} classes but the graph's Output has {units} units; "
                        f"set the last layer's out_features to {num_classes}")


def _refuse_first(name: str, y: np.ndarray, where: Callable[[int], str], bad: np.ndarray, why: str) -> None:
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{name}: {where(i)} has label {number_text(y[i])}; {why}")


def class_labels(name: str, y: np.ndarray, where: Callable[[int], str],
                 output_shape: tuple[int, ...] | None) -> tuple[np.ndarray, int]:
    """Numeric labels -> int64 0..K-1 and K; refuses fractions, negatives and labels past
    MAX_CLASSES before the int64 cast (1e30 would wrap to -2**63), then labels ≥ the Output's K."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise DataError(f"{name}: labels of type {y.dtype} are not class numbers")
    if len(y) == 0:
        raise DataError(f"{name}: no samples")
    fractional = ~np.isfinite(y) | (y != np.round(y)) if y.dtype.kind == "f" else np.zeros(len(y), bool)
    for bad, why in ((fractional, "class labels must be whole numbers 0..K-1"),
                     (y < 0, "class labels must be 0..K-1"),
                     (y >= MAX_CLASSES, f"class labels must be 0..K-1, K at most {MAX_CLASSES:,}")):
        _refuse_first(name, y, where, np.flatnonzero(bad), why)
    labels = y.astype(np.int64)
    num_classes = int(labels.max()) + 1
    if output_shape is not None and len(output_shape) == 1 and num_classes > int(output_shape[0]):
        k = int(output_shape[0])
        i = int(np.flatnonzero(labels >= k)[0])
        raise DataError(f"{name}: {where(i)} has label {labels[i]} but the graph's Output has {k} units "
                        f"(labels 0..{k - 1}); set the last layer's out_features to {num_classes}")
    check_classifier_output(name, num_classes, output_shape)
    return labels, num_classes


def string_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """String labels -> indices into their sorted names."""
    names, labels = np.unique(np.asarray(y).astype(str), return_inverse=True)
    return labels.astype(np.int64).reshape(-1), [str(n) for n in names]
