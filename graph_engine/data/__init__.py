"""Datasets for training: built-in ones and files on disk, shaped for the graph being trained.

    from graph_engine.data import load_dataset, InputFit
    data = load_dataset("digits", InputFit(shape=(1, 8, 8), output_shape=(10,)))
    data.x_train.shape   # (1437, 1, 8, 8)

Everything here is Qt-free and offline: nothing is downloaded.
"""

from graph_engine.data.base import (
    CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, SEGMENTATION, TASKS, DataError, Dataset, InputFit,
)
from graph_engine.data.builtin import BUILTIN_DATASETS
from graph_engine.data.labels import infer_task
from graph_engine.data.loading import load_dataset
from graph_engine.data.shapes import SEGMENTATION_CLASSES, SHAPE_CLASSES

__all__ = [
    "BUILTIN_DATASETS", "CLASSIFICATION", "DataError", "Dataset", "InputFit", "LANGUAGE_MODEL",
    "REGRESSION", "SEGMENTATION", "SEGMENTATION_CLASSES", "SHAPE_CLASSES", "TASKS", "infer_task",
    "load_dataset",
]
