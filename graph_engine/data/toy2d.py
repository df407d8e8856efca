"""Two-feature toy problems for the perceptron and the decision-boundary view.

``blobs`` (two separable clusters), ``xor``, ``circles``, ``moons`` and ``spiral``: each a
function of (samples, noise, seed) alone, so a lesson's numbers repeat. scikit-learn's
generators where it has one (blobs, circles, moons); XOR and the two-armed spiral are drawn
as TensorFlow Playground draws them. Labels are 0/1; the perceptron task reads them as ±1.
"""

from __future__ import annotations

import numpy as np
import torch

from graph_engine.data._util import tensor
from graph_engine.data.base import CLASSIFICATION, Dataset, InputFit
from graph_engine.data.split import split_indices
from graph_engine.data.tabular import shape_features, standardise
from graph_engine.data.names import TOY_DATASETS

#: points drawn for each toy problem (a fifth of them held out by default)
TOY_SAMPLES = 500
#: the noise when the settings give none: sklearn's ``noise`` (std of Gaussian jitter), in
#: units of the problem's own scale (every problem spans about [-1, 1] before standardising)
DEFAULT_NOISE = 0.1
#: XOR's points keep this distance from the axes before noise, so noise 0 is learnable exactly
XOR_PADDING = 0.05


def _blobs(n: int, noise: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, centers=[(-1.0, -1.0), (1.0, 1.0)], cluster_std=0.2 + noise,
                      random_state=seed)
    return x, y


def _xor(n: int, noise: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    x += np.sign(x) * XOR_PADDING
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0.0, noise, size=x.shape), y


def _circles(n: int, noise: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_circles

    return make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)


def _moons(n: int, noise: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return (x - (0.5, 0.25)) / 1.5, y  # centred, about [-1, 1]


def _spiral(n: int, noise: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two arms of 1.75 turns each, the second the first turned by π (TensorFlow Playground's)."""
    half = n // 2
    parts, labels = [], []
    for label, delta in ((0, 0.0), (1, np.pi)):
        count = half if label == 0 else n - half
        r = np.arange(count) / count
        angle = 1.75 * r * 2 * np.pi + delta
        arm = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        parts.append(arm + rng.normal(0.0, noise, size=arm.shape))
        labels.append(np.full(count, label, dtype=np.int64))
    return np.concatenate(parts), np.concatenate(labels)


_GENERATORS = {"blobs": _blobs, "xor": _xor, "circles": _circles, "moons": _moons, "spiral": _spiral}


def toy_points(name: str, n: int = TOY_SAMPLES, noise: float = DEFAULT_NOISE,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) float64 points and (n,) int64 labels 0/1 of one of :data:`TOY_DATASETS`."""
    if noise < 0:
        raise ValueError(f"{name}: noise must be ≥ 0, got {noise}")
    rng = np.random.default_rng(seed)
    x, y = _GENERATORS[name](n, float(noise), rng, int(seed))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)


def toy_dataset(name: str, fit: InputFit, seed: int, fraction: float,
                noise: float | None = None, n: int = TOY_SAMPLES) -> Dataset:
    """A toy problem shaped for a graph with a 2-feature Input; any other Input is refused
    with the readers' one-line fit message (``use an Input of (2,)``)."""
    noise = DEFAULT_NOISE if noise is None else noise
    x, y = toy_points(name, n, noise, seed)
    features = shape_features(name, x, fit, "points", lambda i: f"point {i}")
    train, val = split_indices(len(y), fraction, seed, y)
    x_train, x_val, mean, std = standardise(features[train], features[val])
    extra = {"validation": "split", "noise": float(noise),
             "feature_mean": tensor(mean, torch.float32), "feature_std": tensor(std, torch.float32)}
    return Dataset(name=name, task=CLASSIFICATION, x_train=tensor(x_train, torch.float32),
                   y_train=tensor(y[train], torch.int64), x_val=tensor(x_val, torch.float32),
                   y_val=tensor(y[val], torch.int64), num_classes=2, class_names=["0", "1"],
                   source="built-in", extra=extra)


__all__ = ["DEFAULT_NOISE", "TOY_DATASETS", "TOY_SAMPLES", "toy_dataset", "toy_points"]
