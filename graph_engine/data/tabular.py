"""The common tail of CSV and NPZ: task from the targets, features shaped and standardised."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from graph_engine.data._util import is_float_input, number_text, shape_text, tensor
from graph_engine.data.base import CLASSIFICATION, REGRESSION, SEGMENTATION, DataError, Dataset, InputFit
from graph_engine.data.labels import check_classifier_output, class_labels, infer_task, string_labels
from graph_engine.data.segmentation import check_segmentation_output, fit_masks
from graph_engine.data.split import split_indices

#: the largest token index read from a file (an Embedding's rows are int32-addressable)
MAX_TOKEN = 2**31 - 1


def token_indices(name: str, x: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
    """int64 token indices, refusing fractions and indices out of 0..MAX_TOKEN here: the
    Embedding would otherwise fail on them only at the first training step."""
    if x.dtype.kind not in "biu" and not np.all(x == np.round(x)):
        raise DataError(f"{name}: the Input is int64 but the features hold fractions; use a float32 Input")
    flat = x.reshape(len(x), -1)
    outside = (flat < 0) | (flat > MAX_TOKEN)
    rows = np.flatnonzero(outside.any(axis=1))
    if len(rows):
        i = int(rows[0])
        raise DataError(f"{name}: {where(i)} has token index {number_text(flat[i][outside[i]][0])}; "
                        "token indices must be 0..num_embeddings-1")
    return x.astype(np.int64)


def shape_features(name: str, x: np.ndarray, fit: InputFit, what: str,
                   where: Callable[[int], str]) -> np.ndarray:
    """Samples keep their shape when it is the Input's, or are reshaped when only the layout
    differs (784 CSV columns -> 1×28×28); anything else says which Input would fit."""
    sample = tuple(int(d) for d in x.shape[1:])
    target = tuple(int(d) for d in fit.shape)
    if sample != target and math.prod(sample) != math.prod(target):
        raise DataError(f"{name}: {what} do not fit the Input {shape_text(target)}; "
                        f"use an Input of {sample}")
    x = x.reshape(len(x), *target)
    if is_float_input(fit.dtype):
        return x.astype(np.float64, copy=False)
    return token_indices(name, x, where)


def _check_finite(name: str, array: np.ndarray, where: Callable[[int], str], what: str) -> None:
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        if bad.any():
            raise DataError(f"{name}: {where(int(np.flatnonzero(bad)[0]))} has a NaN or infinite {what}")


def standardise(x_train: np.ndarray,
                x_val: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """z-score every feature with the training split's mean and std (a constant feature: std 1),
    so validation never leaks into the statistics."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_val - mean) / std, mean, std


def _regression_targets(name: str, y: np.ndarray, output_shape: tuple[int, ...] | None) -> np.ndarray:
    """Float32 targets; one value per sample becomes (N, 1) to match a one-unit Linear."""
    y = y.astype(np.float32).reshape(len(y), -1) if y.ndim == 1 else y.astype(np.float32)
    if output_shape is not None and tuple(y.shape[1:]) != tuple(int(d) for d in output_shape):
        raise DataError(f"{name}: each target has shape {shape_text(y.shape[1:])} but the graph's Output "
                        f"has shape {shape_text(output_shape)}; make the last layer output "
                        f"{shape_text(y.shape[1:])}")
    return y


def tabular_dataset(name: str, source: str, x: np.ndarray, y: np.ndarray, fit: InputFit, seed: int,
                    fraction: float, where: Callable[[int], str], what: str,
                    extra: dict | None = None) -> Dataset:
    """Features x (N, ...) and targets y (N, ...) -> a Dataset of the inferred task.

    ``name`` is the dataset's name; messages name ``source`` (the file) instead.
    """
    if len(x) == 0:
        raise DataError(f"{source}: no samples")
    if x.ndim == 1:
        x = x[:, None]
    _check_finite(source, x, where, "feature")
    out = fit.output_shape
    task = infer_task(y, out, x.shape)
    class_names = None
    num_classes = None
    if task == CLASSIFICATION and y.dtype.kind in "US":
        targets, class_names = string_labels(y)
        num_classes = len(class_names)
        check_classifier_output(source, num_classes, out)
    elif task == CLASSIFICATION:
        targets, num_classes = class_labels(source, y.reshape(len(y)), where, out)
        class_names = [str(k) for k in range(num_classes)]
    elif task == SEGMENTATION:
        targets = y.astype(np.int64)
        if targets.min() < 0:
            raise DataError(f"{source}: {where(int(np.flatnonzero((targets < 0).any(axis=(1, 2)))[0]))} "
                            "has a negative class in its mask")
        num_classes = int(targets.max()) + 1
        check_segmentation_output(source, num_classes, out)
    else:
        _check_finite(source, y, where, "target")
        targets = _regression_targets(source, y, out)
    features = shape_features(source, x, fit, what, where)

    stratify = targets if task == CLASSIFICATION else None
    train, val = split_indices(len(features), fraction, seed, stratify)
    x_train, x_val = features[train], features[val]
    extra = dict(extra or {}, validation="split")
    if is_float_input(fit.dtype):
        x_train, x_val, mean, std = standardise(x_train, x_val)
        extra |= {"feature_mean": tensor(mean, torch.float32), "feature_std": tensor(std, torch.float32)}
        x_dtype = torch.float32
    else:
        x_dtype = torch.int64
    if task == SEGMENTATION:
        y_train, y_val = fit_masks(targets[train], out), fit_masks(targets[val], out)
    else:
        y_dtype = torch.float32 if task == REGRESSION else torch.int64
        y_train, y_val = tensor(targets[train], y_dtype), tensor(targets[val], y_dtype)
    return Dataset(name=name, task=task, x_train=tensor(x_train, x_dtype), y_train=y_train,
                   x_val=tensor(x_val, x_dtype), y_val=y_val, num_classes=num_classes,
                   class_names=class_names, source=source, extra=extra)
