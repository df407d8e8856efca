"""Datasets as the trainer sees them: in-memory tensors, split, with what they are.

Every reader (built-in or from disk) returns a :class:`Dataset` already shaped for the
graph it will train: images resized to the Input's H×W, text cut into windows of the
Input's length. Problems are :class:`DataError` with a one-line message that names
the file (and line, column or sample) and what would fit — never a torch traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from graph_engine.errors import DataError  # noqa: F401 (re-exported: the data modules raise it by this name)

from graph_engine.task_names import (  # noqa: F401 (re-exported: the tasks are named by these)
    CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, SEGMENTATION, SEQ2SEQ, TASKS,
)


@dataclass(frozen=True)
class InputFit:
    """What the graph expects, so a reader can shape the data for it."""

    #: the Input node's sample shape (no batch), e.g. (1, 8, 8), (64,), (64,) int64 tokens
    shape: tuple[int, ...]
    #: "float" or "int64"
    dtype: str = "float"
    #: the Output's shape, e.g. (10,), (64, 128), (6, 32, 32); None if unknown
    output_shape: tuple[int, ...] | None = None


@dataclass
class Dataset:
    """Training and validation tensors plus what they mean.

    Shapes per task (N samples; sample shape S equals the graph's Input shape):
      classification  x (N, *S) float32, y (N,) int64 in 0..num_classes-1
      regression      x (N, *S) float32, y (N, *target) float32
      language_model  x (N, T) int64 windows, y (N, T) int64 = x shifted by one character
      segmentation    x (N, C, H, W) float32, y (N, H, W) int64 class per pixel
      seq2seq         x (N, S) int64 source tokens or (N, C, H, W) images, y (N, T + 1) int64
                      <bos> target <eos> <pad>… (training: (N, P, T + 1), P phrasings);
                      see :mod:`graph_engine.data.seq2seq`
    """

    name: str
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    #: classes (classification, segmentation) or vocabulary size (language model)
    num_classes: int | None = None
    class_names: list[str] | None = None
    #: language models: index -> character
    vocabulary: str | None = None
    #: "built-in" or the path it was read from
    source: str = "built-in"
    extra: dict = field(default_factory=dict)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def __len__(self) -> int:
        return int(self.x_train.shape[0] + self.x_val.shape[0])

    def describe(self) -> str:
        """``digits: 1437 train / 360 val, 1×8×8, 10 classes``"""
        shape = "×".join(str(d) for d in self.sample_shape)
        kind = {CLASSIFICATION: f"{self.num_classes} classes", SEGMENTATION: f"{self.num_classes} classes",
                LANGUAGE_MODEL: f"{self.num_classes} characters", REGRESSION: "regression",
                SEQ2SEQ: f"{self.num_classes} target tokens"}[self.task]
        return f"{self.name}: {len(self.x_train)} train / {len(self.x_val)} val, {shape}, {kind}"
