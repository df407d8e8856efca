"""Datasets for training: built-in ones and files on disk, shaped for the graph being trained.

    from graph_engine.data import load_dataset, InputFit
    data = load_dataset("digits", InputFit(shape=(1, 8, 8), output_shape=(10,)))
    data.x_train.shape   # (1437, 1, 8, 8)

Everything here is Qt-free and offline: nothing is downloaded.
"""

from graph_engine.lazy_names import lazy_names

# loaded when first asked for: the datasets' modules import torch, and the editor imports
# this package's light modules (names, splits) long before anything is loaded
_LAZY = {name: "graph_engine.data.base" for name in (
    "CLASSIFICATION", "LANGUAGE_MODEL", "REGRESSION", "SEGMENTATION", "TASKS", "DataError", "Dataset", "InputFit")}
_LAZY.update({"BUILTIN_DATASETS": "graph_engine.data.names", "infer_task": "graph_engine.data.labels",
              "load_dataset": "graph_engine.data.loading", "SEGMENTATION_CLASSES": "graph_engine.data.shapes",
              "SHAPE_CLASSES": "graph_engine.data.shapes"})
__getattr__, __dir__ = lazy_names("graph_engine.data", globals(), _LAZY)

__all__ = [
    "BUILTIN_DATASETS", "CLASSIFICATION", "DataError", "Dataset", "InputFit", "LANGUAGE_MODEL",
    "REGRESSION", "SEGMENTATION", "SEGMENTATION_CLASSES", "SHAPE_CLASSES", "TASKS", "infer_task",
    "load_dataset",
]
