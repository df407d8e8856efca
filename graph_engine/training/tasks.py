"""What is being learned: the loss and the validation metrics of each task.

The task comes from the data (the readers set it) unless the settings override it,
and the graph must fit it; :func:`fit_problems` says what does not, before any step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from graph_engine.analysis import Analysis
from graph_engine.data.base import (
    CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, SEGMENTATION, Dataset, InputFit,
)
from graph_engine.lowering import CompileError
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.shape_format import shape_text
from graph_engine.task_names import HEADLINE, PERCEPTRON  # noqa: F401 (HEADLINE re-exported)


@dataclass(frozen=True)
class GraphEnds:
    """The Input and Output of a graph as training sees them."""

    input_id: str
    output_id: str
    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]
    last_layer: str
    #: (node id, limit) of every layer fed token indices: indices must stay below the limit
    embeddings: tuple[tuple[str, int], ...] = ()

    @property
    def fit(self) -> InputFit:
        return InputFit(self.input_shape, self.input_dtype, self.output_shape)


def graph_ends(graph: Graph, analysis: Analysis) -> GraphEnds:
    """Find the Input and Output (the graph must be valid). Raises CompileError for a graph
    with several: the built-in tasks feed one tensor and score one. An encoder–decoder
    (two Inputs: a source and the decoder's tokens) is the seq2seq task's: its GraphEnds
    describe the source Input and the Output."""
    inputs, outputs = analysis.input_ids, analysis.output_ids
    if len(inputs) == 2 and len(outputs) == 1:
        from graph_engine.training.seq2seq import seq2seq_ends

        ends = seq2seq_ends(graph, analysis)
        return GraphEnds(ends.source_id, ends.output_id, ends.source_shape, ends.source_dtype, ends.output_shape,
                         ends.last_layer, ends.source_embeddings + ends.target_embeddings)
    if len(inputs) != 1 or len(outputs) != 1:
        raise CompileError(f"training takes one Input and one Output (or, for the seq2seq task, a source "
                           f"Input, a decoder Input and one Output); {graph.name!r} has "
                           f"{_listed(inputs, 'Input')} and {_listed(outputs, 'Output')}")
    input_id, output_id = inputs[0], outputs[0]
    last = analysis.input_values(output_id)[0].node
    return GraphEnds(input_id, output_id, tuple(analysis.info(input_id).out_shape),
                     analysis.info(input_id).dtype, tuple(analysis.info(output_id).out_shape),
                     analysis.graph.node(last).type,
                     tuple((n.id, get_spec(n.type).token_limit(n.params)) for n in analysis.compiled().graph
                           if get_spec(n.type).token_limit))


def _listed(ids: list[str], kind: str) -> str:
    return f"{len(ids)} {kind}{'s' if len(ids) != 1 else ''} ({', '.join(ids)})" if ids else f"no {kind}"


def fit_problems(task: str, dataset: Dataset, ends: GraphEnds) -> list[str]:
    """Why this dataset cannot train this graph for this task (empty when it can)."""
    name = dataset.name
    if task == PERCEPTRON:
        return _perceptron_problems(dataset, ends) + _input_problems(dataset, ends)
    wanted = {CLASSIFICATION: (torch.int64, 1, "integer class labels"),
              SEGMENTATION: (torch.int64, 3, "a class per pixel"),
              LANGUAGE_MODEL: (torch.int64, 2, "next-token indices"),
              REGRESSION: (None, None, "numeric targets")}[task]
    dtype, rank, what = wanted
    y = dataset.y_train
    if (dtype is not None and (y.dtype != dtype or y.dim() != rank)) or (
            dtype is None and not y.is_floating_point()):
        return [f"the task {task} needs {what}, but {name}'s targets are {str(y.dtype)[6:]} of shape "
                f"{tuple(y.shape[1:]) or 'scalar'}; choose the task {dataset.task}"]
    problems = _input_problems(dataset, ends)
    wants_int = dataset.x_train.dtype == torch.int64
    out = ends.output_shape
    classes = dataset.num_classes or 0
    if task == CLASSIFICATION:
        if len(out) != 1:
            problems.append(f"classification needs an Output of shape (classes,), got "
                            f"{shape_text(out)}; end with Flatten and Linear({classes})")
        elif out[0] < classes:
            problems.append(f"{name} has {classes} classes but the Output has {out[0]} units; set the "
                            f"last layer's out_features to {classes}")
    elif task == LANGUAGE_MODEL:
        seq = dataset.sample_shape[0] if dataset.sample_shape else 0
        if len(out) != 2 or out[0] != seq:
            problems.append(f"a character model needs an Output of shape ({seq}, vocabulary), got "
                            f"{shape_text(out)}")
        elif out[1] < classes:
            problems.append(f"{name} has {classes} distinct characters but the Output predicts "
                            f"{out[1]}; set the last layer's out_features to at least {classes}")
    elif task == SEGMENTATION:
        mask = tuple(dataset.y_train.shape[1:])
        if len(out) != 3 or tuple(out[1:]) != mask:
            problems.append(f"segmentation needs an Output of shape (classes, {mask[0]}, {mask[1]}), "
                            f"got {shape_text(out)}")
        elif out[0] < classes:
            problems.append(f"{name} has {classes} pixel classes but the Output has {out[0]} channels")
    elif task == REGRESSION:
        target = tuple(dataset.y_train.shape[1:])
        if tuple(out) != target:
            problems.append(f"{name} targets are {shape_text(target)} but the Output is "
                            f"{shape_text(out)}")
    if wants_int and len(dataset.x_train):
        largest = int(max(dataset.x_train.max(), dataset.x_val.max() if len(dataset.x_val) else 0))
        for node_id, size in ends.embeddings:
            if largest >= size:
                problems.append(f"{name} has token indices up to {largest} but '{node_id}' accepts "
                                f"{size} (num_embeddings); set it to at least {largest + 1}")
    if task in (CLASSIFICATION, LANGUAGE_MODEL, SEGMENTATION) and ends.last_layer == "Softmax":
        problems.append("the last layer is a Softmax, but the cross-entropy loss applies it itself; "
                        "remove the Softmax before the Output")
    return problems


def _input_problems(dataset: Dataset, ends: GraphEnds) -> list[str]:
    """The samples' shape and dtype against the Input's."""
    name = dataset.name
    problems = []
    if dataset.sample_shape != ends.input_shape:
        problems.append(f"{name} samples are {shape_text(dataset.sample_shape)} but the Input "
                        f"'{ends.input_id}' is {shape_text(ends.input_shape)}; set the Input's shape "
                        f"to {list(dataset.sample_shape)}")
    wants_int = dataset.x_train.dtype == torch.int64
    if wants_int != (ends.input_dtype == "int64"):
        dtype = "int64" if wants_int else "float32"
        problems.append(f"{name} gives {dtype} inputs but the Input '{ends.input_id}' is "
                        f"{'int64' if ends.input_dtype == 'int64' else 'float32'}; set its dtype to {dtype}")
    return problems


def _perceptron_problems(dataset: Dataset, ends: GraphEnds) -> list[str]:
    """Two classes and one output unit; the rest is classification's (the first of whose
    problems, the Output's width, the perceptron replaces)."""
    problems = []
    y = dataset.y_train
    if y.dtype != torch.int64 or y.dim() != 1 or (dataset.num_classes or 0) != 2:
        classes = dataset.num_classes if y.dtype == torch.int64 and y.dim() == 1 else "no"
        problems.append(f"the perceptron separates two classes (targets −1 and +1), but {dataset.name} has "
                        f"{classes} classes; use a two-class dataset such as blobs or xor")
    if tuple(ends.output_shape) != (1,):
        problems.append(f"the perceptron needs an Output of one unit (its sign is the class), got "
                        f"{shape_text(ends.output_shape)}; set the last layer's out_features to 1")
    return problems


def prepare_targets(task: str, y: torch.Tensor) -> torch.Tensor:
    """The targets as the loss reads them: float for regression, ±1 for the perceptron."""
    if task == PERCEPTRON:
        return y.float() * 2 - 1
    return y.float() if task == REGRESSION and y.dtype != torch.float32 else y


def perceptron_decision(output: torch.Tensor) -> torch.Tensor:
    """The class a perceptron's output says: +1 where f(x) ≥ 0, else −1 (as its Sign does)."""
    return torch.where(output.reshape(len(output), -1)[:, 0] >= 0, 1.0, -1.0)


def balanced_weights(task: str, y: torch.Tensor, classes: int | None) -> torch.Tensor | None:
    """Per-class loss weights, the inverse of each class's share of ``y`` (mean 1 over the
    classes present; absent classes weigh 0), for classification and segmentation."""
    if task not in (CLASSIFICATION, SEGMENTATION) or not classes:
        return None
    counts = torch.bincount(y.reshape(-1).long(), minlength=classes)[:classes].double()
    present = counts > 0
    weights = torch.zeros(classes, dtype=torch.float64, device=y.device)
    weights[present] = counts[present].sum() / counts[present]
    weights[present] /= weights[present].mean()
    return weights.float()


def loss_fn(task: str, output: torch.Tensor, target: torch.Tensor, hinge: bool = False,
            weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy for class-like tasks (over the class dimension), MSE for regression; for the
    perceptron the criterion max(0, −t·f(x)), whose gradient on a misclassified point is −t·x at
    the last layer (so SGD with rate η is Rosenblatt's update), or with ``hinge`` max(0, 1 − t·f(x))."""
    if task == PERCEPTRON:
        margin = target * output.reshape(len(output), -1)[:, 0]
        return torch.relu((1.0 if hinge else 0.0) - margin).mean()
    if task == REGRESSION:
        return F.mse_loss(output, target.reshape(output.shape))
    if task == LANGUAGE_MODEL:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
    if weight is not None and output.shape[1] != len(weight):  # an Output wider than the classes
        weight = torch.cat([weight, weight.new_zeros(output.shape[1] - len(weight))])
    return F.cross_entropy(output, target, weight=weight)


def predicted_classes(task: str, output: torch.Tensor) -> torch.Tensor:
    """Each sample's (each pixel's, each position's) predicted class: the index of the largest
    score, the first on ties. Over the class axis of a segmentation's (B, C, H, W) scores,
    ``max(dim=1).indices`` gives the same as ``argmax(dim=1)`` six times faster on the CPU
    (argmax over a strided axis has no fast kernel there)."""
    if task == SEGMENTATION:
        return output.max(dim=1).indices
    return output.argmax(dim=-1)


class MetricAccumulator:
    """Sums a validation pass batch by batch on the device; one transfer at the end."""

    def __init__(self, task: str, num_classes: int | None):
        self.task = task
        self.num_classes = num_classes or 0
        self.loss_sum = None
        self.count = 0
        self.correct = None
        self.elements = 0
        self.intersection = None
        self.union = None

    def add(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor,
            predicted: torch.Tensor | None = None) -> None:
        """One batch; ``predicted``: its :func:`predicted_classes`, when the caller has them."""
        n = target.shape[0]
        weighted = loss.detach() * n
        self.loss_sum = weighted if self.loss_sum is None else self.loss_sum + weighted
        self.count += n
        if self.task == PERCEPTRON:
            hits = (perceptron_decision(output) == target).sum()
            self.correct = hits if self.correct is None else self.correct + hits
            self.elements += n
            return
        if self.task == REGRESSION:
            error = (output - target.reshape(output.shape)).abs().sum()
            self.correct = error if self.correct is None else self.correct + error
            self.elements += target.numel()
            return
        if predicted is None:
            predicted = predicted_classes(self.task, output)
        hits = (predicted == target).sum()
        self.correct = hits if self.correct is None else self.correct + hits
        self.elements += target.numel()
        if self.task == SEGMENTATION:
            # the (true, predicted) pixel counts in one bincount: the diagonal is each class's
            # intersection, a row plus a column (less the diagonal) its union
            k = output.shape[1]
            pairs = torch.bincount((target.reshape(-1) * k + predicted.reshape(-1)), minlength=k * k)
            matrix = pairs[:k * k].reshape(k, k)
            inter = matrix.diagonal()
            union = matrix.sum(0) + matrix.sum(1) - inter
            self.intersection = inter if self.intersection is None else self.intersection + inter
            self.union = union if self.union is None else self.union + union

    def result(self) -> dict[str, float]:
        if not self.count:
            return {}
        loss = float(self.loss_sum) / self.count
        metrics = {"loss": loss}
        if self.task == REGRESSION:
            metrics["mae"] = float(self.correct) / self.elements
            metrics["mse"] = loss
        elif self.task == LANGUAGE_MODEL:
            metrics["accuracy"] = float(self.correct) / self.elements
            metrics["bits_per_char"] = loss / math.log(2)
        elif self.task == SEGMENTATION:
            metrics["pixel_accuracy"] = float(self.correct) / self.elements
            present = self.union > 0
            iou = self.intersection[present].double() / self.union[present].double()
            metrics["mean_iou"] = float(iou.mean()) if present.any() else 0.0
        else:
            metrics["accuracy"] = float(self.correct) / self.elements
        return metrics


