"""The common tail of every image-classification reader: check the Output, split, shape, wrap."""

from __future__ import annotations

import numpy as np
import torch

from graph_engine.data._util import tensor
from graph_engine.data.base import CLASSIFICATION, Dataset, InputFit
from graph_engine.data.images import ImagePlan, fit_images, plan_image_fit
from graph_engine.data.labels import check_classifier_output
from graph_engine.data.split import split_indices


def image_extra(plan: ImagePlan, validation: str) -> dict:
    """What the trainer and probes may want to know about how images were shaped."""
    return {"natural_shape": plan.natural, "layout": plan.layout, "validation": validation}


def image_classification(name: str, source: str, images: np.ndarray, labels: np.ndarray,
                         class_names: list[str], fit: InputFit, seed: int, fraction: float,
                         val_images: np.ndarray | None = None,
                         val_labels: np.ndarray | None = None) -> Dataset:
    """(N, C, H, W) images with labels 0..K-1 -> a Dataset shaped for ``fit``.

    The Output is checked before any pixel is converted, so a wrong graph fails at once.
    With ``val_images`` (idx and CIFAR test files) those are the validation set; otherwise a
    stratified split from the seed.
    """
    plan = plan_image_fit(name, images.shape[1:], fit)
    check_classifier_output(name, len(class_names), fit.output_shape)
    labels = np.asarray(labels, dtype=np.int64)
    if val_images is not None and val_labels is not None:
        train_images, train_labels = images, labels
        validation = "test files"
    else:
        train_idx, val_idx = split_indices(len(labels), fraction, seed, labels)
        train_images, train_labels = images[train_idx], labels[train_idx]
        val_images, val_labels = images[val_idx], labels[val_idx]
        validation = "split"
    return Dataset(
        name=name, task=CLASSIFICATION,
        x_train=fit_images(train_images, plan), y_train=tensor(train_labels, torch.int64),
        x_val=fit_images(val_images, plan), y_val=tensor(np.asarray(val_labels), torch.int64),
        num_classes=len(class_names), class_names=list(class_names), source=source,
        extra=image_extra(plan, validation))
