"""The built-in datasets: all generated or read from what is installed, never downloaded."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np

from graph_engine.data.assemble import image_classification, image_extra
from graph_engine.data.base import SEGMENTATION, DataError, Dataset, InputFit
from graph_engine.data.images import fit_images, plan_image_fit
from graph_engine.data.segmentation import check_segmentation_output, fit_masks
from graph_engine.data.shapes import SEGMENTATION_CLASSES, SHAPE_CLASSES, draw_scenes, draw_shapes
from graph_engine.data.split import split_indices
from graph_engine.data.text import text_dataset
from graph_engine.data.names import BUILTIN_DATASETS  # noqa: F401 (re-exported)
from graph_engine.data.toy2d import TOY_DATASETS, toy_dataset

SHAPES_SAMPLES = 3000
PYTHON_SOURCE_CAP = 3_000_000   # characters


def digits(fit: InputFit, seed: int, fraction: float) -> Dataset:
    """sklearn's 1,797 8×8 digits (0..16 scaled to [0, 1]), stratified split from the seed."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None]          # (N, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    return image_classification("digits", "built-in", images, labels, [str(d) for d in range(10)],
                                fit, seed, fraction)


def _image_size(fit: InputFit) -> tuple[int, int]:
    """Draw at the Input's H×W when it is an image; otherwise 32×32 (then flattened or refused)."""
    if len(fit.shape) == 3 and fit.shape[1] > 0 and fit.shape[2] > 0:
        return int(fit.shape[1]), int(fit.shape[2])
    return 32, 32


def shapes(fit: InputFit, seed: int, fraction: float, n: int = SHAPES_SAMPLES) -> Dataset:
    """Ten procedural shape classes (see :data:`SHAPE_CLASSES`), drawn at the Input's size."""
    height, width = _image_size(fit)
    plan_image_fit("shapes", (3, height, width), fit)        # refuse a wrong Input before drawing
    images, labels = draw_shapes(n, height, width, seed)
    return image_classification("shapes", "built-in", images, labels, list(SHAPE_CLASSES),
                                fit, seed, fraction)


def shapes_segmentation(fit: InputFit, seed: int, fraction: float, n: int = SHAPES_SAMPLES) -> Dataset:
    """1–3 shapes per image with a per-pixel mask: 0 background, 1..5 circle/square/triangle/cross/star."""
    name = "shapes-segmentation"
    height, width = _image_size(fit)
    plan = plan_image_fit(name, (3, height, width), fit)
    check_segmentation_output(name, len(SEGMENTATION_CLASSES), fit.output_shape)
    images, masks = draw_scenes(n, height, width, seed)
    train, val = split_indices(n, fraction, seed)
    return Dataset(
        name=name, task=SEGMENTATION,
        x_train=fit_images(images[train], plan), y_train=fit_masks(masks[train], fit.output_shape),
        x_val=fit_images(images[val], plan), y_val=fit_masks(masks[val], fit.output_shape),
        num_classes=len(SEGMENTATION_CLASSES), class_names=list(SEGMENTATION_CLASSES),
        source="built-in", extra=image_extra(plan, "split"))


def python_docs_text() -> str:
    """The interpreter's own help topics (pydoc_data.topics), joined in key order: ~465k characters."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise DataError("python-docs: this Python has no pydoc_data.topics") from None
    return "".join(topics[key] for key in sorted(topics))


def python_source_text(cap: int = PYTHON_SOURCE_CAP) -> str:
    """The standard library's top-level .py files, sorted by name, whole files up to ``cap`` characters."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(stdlib.glob("*.py")):
        try:
            text = path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
        except OSError:
            continue
        if total + len(text) > cap:
            if not parts:
                parts.append(text[:cap])
            break
        parts.append(text)
        total += len(text)
    if not parts:
        raise DataError(f"python-source: no .py files in the standard library at {stdlib}")
    return "".join(parts)


def load_builtin(name: str, fit: InputFit, seed: int, fraction: float, noise: float | None = None) -> Dataset:
    """Dispatch one of :data:`BUILTIN_DATASETS` (``noise``: the 2-D toy problems' jitter)."""
    if name in TOY_DATASETS:
        return toy_dataset(name, fit, seed, fraction, noise)
    if name == "digits":
        return digits(fit, seed, fraction)
    if name == "shapes":
        return shapes(fit, seed, fraction)
    if name == "shapes-segmentation":
        return shapes_segmentation(fit, seed, fraction)
    if name == "python-docs":
        return text_dataset(name, "built-in", python_docs_text(), fit, seed, fraction)
    if name == "python-source":
        return text_dataset(name, "built-in", python_source_text(), fit, seed, fraction)
    raise DataError(f"unknown built-in dataset {name!r}; built-ins: {', '.join(BUILTIN_DATASETS)}")


__all__ = ["BUILTIN_DATASETS", "digits", "load_builtin", "python_docs_text", "python_source_text",
           "shapes", "shapes_segmentation"]
