"""The decision boundary of a two-feature classifier: the plane coloured by predicted class.

For a graph whose Input takes 2 features, the model is run on a grid over the training
points' extent (plus a margin): each cell gets its predicted class and how sure the model
is (the top softmax probability; a perceptron's sign is certain). The hidden units' own
outputs over the same grid are the TensorFlow Playground picture of what each unit learned.
Everything is computed on the model's device under eval mode and leaves as small numpy
arrays: uint8 images and the points themselves.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import fx

from graph_engine.analysis import Analysis
from graph_engine.probes._common import evaluating, live_ids, model_device, tapped
from graph_engine.registry import get_spec

#: cells along each side of the grid
RESOLUTION = 96
#: the training points drawn over the plane (the first ones, in a fixed order)
MAX_POINTS = 600
#: hidden units shown; only layers this narrow are hidden units one can look at
MAX_UNITS = 16
#: how far the plane reaches past the points, as a share of their extent
MARGIN = 0.15


def takes_two_features(shape: Sequence[int], dtype: str) -> bool:
    """Whether a graph's Input is a point in the plane (two float features)."""
    return tuple(shape) == (2,) and not str(dtype).startswith("int")


def hidden_units(model: fx.GraphModule, analysis: Analysis, output_id: str | None = None) -> list[str]:
    """The activation layers with a narrow 1-D output, in order, except the one feeding the Output."""
    last = analysis.input_values(output_id)[0].node if output_id else None
    found = []
    for node_id in live_ids(model):
        node = analysis.graph.nodes.get(node_id)
        if node is None or node_id == last or get_spec(node.type).category != "Activation":
            continue
        shape = analysis.info(node_id).out_shape
        if shape is not None and len(shape) == 1 and shape[0] <= MAX_UNITS:
            found.append(node_id)
    return found


def plane_extent(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) covering ``points`` with a margin; a flat cloud still gets area."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    low, high = low - MARGIN * span, high + MARGIN * span
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def _grid(extent: tuple[float, float, float, float], resolution: int) -> torch.Tensor:
    """(resolution², 2) cell centres, row-major with y growing by row (image row 0 = y0)."""
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, resolution)
    ys = torch.linspace(y0, y1, resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def decision_boundary(model: fx.GraphModule, analysis: Analysis, points: torch.Tensor, labels: torch.Tensor,
                      perceptron: bool, hidden: Sequence[str] = (), resolution: int = RESOLUTION) -> dict:
    """The plane's predicted classes and certainty, the points, and each hidden unit's output.

    ``labels`` are class indices (a perceptron's ±1 targets are read as 0 / 1). Returns
    ``extent`` (x0, x1, y0, y1), ``predicted`` (R, R) uint8 class per cell (row 0 at y0),
    ``confidence`` (R, R) uint8 0..255, ``points`` (n, 2) float32, ``labels`` (n,) uint8,
    ``hidden`` {node id: (units, R, R) uint8, each unit scaled symmetrically around 0 at 128}
    and ``train_accuracy`` over the points shown.
    """
    points = points[:MAX_POINTS].detach()
    labels = labels[:MAX_POINTS].detach()
    if perceptron:
        labels = (labels > 0).long()
    extent = plane_extent(points.float().cpu().numpy())
    device = model_device(model)
    grid = _grid(extent, resolution).to(device)
    with evaluating(model):
        scores = model(grid).float().reshape(len(grid), -1)
        if perceptron or scores.shape[1] == 1:
            predicted = (scores[:, 0] >= 0).long()
            confidence = torch.ones(len(grid), device=device)
            on_points = (model(points.to(device)).float().reshape(len(points), -1)[:, 0] >= 0).long()
        else:
            probabilities = torch.softmax(scores, dim=1)
            confidence, predicted = probabilities.max(dim=1)
            on_points = model(points.to(device)).float().argmax(dim=1)
        maps = {}
        if hidden:
            outputs = tapped(model, list(hidden))(grid)
            for node_id in hidden:
                value = outputs[node_id].float().reshape(len(grid), -1).T  # (units, cells)
                peak = value.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)
                scaled = (value / peak * 127.5 + 128.0).round().clamp(0, 255).to(torch.uint8)
                maps[node_id] = scaled.reshape(-1, resolution, resolution).cpu().numpy()
    accuracy = float((on_points.cpu() == labels.cpu()).float().mean()) if len(labels) else 0.0
    return {"extent": extent,
            "predicted": predicted.reshape(resolution, resolution).to(torch.uint8).cpu().numpy(),
            "confidence": (confidence * 255).round().reshape(resolution, resolution).to(torch.uint8).cpu().numpy(),
            "points": points.float().cpu().numpy(), "labels": labels.to(torch.uint8).cpu().numpy(),
            "hidden": maps, "train_accuracy": accuracy}


__all__ = ["MAX_POINTS", "RESOLUTION", "decision_boundary", "hidden_units", "plane_extent", "takes_two_features"]
