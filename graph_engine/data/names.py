"""The built-in datasets' names, in a module that loads no data and no torch: the Training
panel lists them at start-up."""

from __future__ import annotations

#: two-feature toy problems (TensorFlow Playground's)
TOY_DATASETS: tuple[str, ...] = ("blobs", "xor", "circles", "moons", "spiral")
BUILTIN_DATASETS: tuple[str, ...] = (
    "digits", "shapes", "shapes-segmentation", "python-docs", "python-source", *TOY_DATASETS)
#: source → target pairs for the encoder–decoders
SEQ2SEQ_DATASETS: tuple[str, ...] = ("number-words", "digits-words", "shapes-captions")

__all__ = ["BUILTIN_DATASETS", "SEQ2SEQ_DATASETS", "TOY_DATASETS"]
