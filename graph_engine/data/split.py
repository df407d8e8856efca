"""Train/validation index split: stratified by class when there are labels, from the seed."""

from __future__ import annotations

import math

import numpy as np

from graph_engine.data.base import DataError


def check_fraction(validation_fraction: float) -> float:
    """The fraction of samples held out; refused outside [0, 1) before anything is read."""
    fraction = float(validation_fraction)
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    return fraction


def validation_count(n: int, fraction: float) -> int:
    """Held-out samples: ceil(n·fraction) like sklearn, but always leaving one for training."""
    if fraction <= 0.0 or n < 2:
        return 0
    return min(max(1, math.ceil(n * fraction)), n - 1)


def split_indices(n: int, fraction: float, seed: int,
                  labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, validation) index arrays.

    With labels the split is stratified (sklearn ``train_test_split``) so every class keeps its
    share in both halves; when a class is too small to stratify it falls back to a plain
    shuffle from the same seed rather than refusing the data.
    """
    n_val = validation_count(n, fraction)
    if n_val == 0:
        return np.random.default_rng(seed).permutation(n), np.zeros(0, dtype=np.int64)
    if labels is not None:
        from sklearn.model_selection import train_test_split

        try:
            train, val = train_test_split(np.arange(n), test_size=n_val, stratify=labels,
                                          random_state=seed)
            return np.asarray(train, dtype=np.int64), np.asarray(val, dtype=np.int64)
        except ValueError:
            pass  # a class with a single sample, or fewer held-out samples than classes
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val:], order[:n_val]
