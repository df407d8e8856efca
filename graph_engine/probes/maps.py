"""Feature maps of one sample and the first layer's filters, as display-ready uint8.

The GUI draws these with fixed levels (uint8, no auto-levels), so each map is
scaled here, on the device, and only bytes cross to the host.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import fx

from graph_engine.compiler import node_module
from graph_engine.model import Graph
from graph_engine.probes._common import evaluating, live_ids, model_device, tapped, to_uint8


def feature_maps(model: fx.GraphModule, x_one: torch.Tensor, node_ids: Sequence[str],
                 max_channels: int = 64) -> dict[str, np.ndarray]:
    """Each node's output for one sample ``x_one`` (its sample shape, no batch dim).

    Returns uint8 arrays: (C, H, W) and (C, L) maps (the first ``max_channels``
    channels), each channel min-max scaled to 0..255 on its own; (F,) vectors are
    scaled as a whole. A constant channel is all 0. Runs in eval mode.
    """
    node_ids = list(dict.fromkeys(node_ids))
    if not node_ids:
        return {}
    module = tapped(model, node_ids)
    with evaluating(model):
        outputs = module(x_one.to(model_device(model)).unsqueeze(0))
        scaled = {}
        for node_id in node_ids:
            value = outputs[node_id].detach()[0].float()
            if value.dim() >= 2:
                value = value[:max_channels]
                scaled[node_id] = to_uint8(value.reshape(value.shape[0], -1)).reshape(value.shape)
            else:
                scaled[node_id] = to_uint8(value.reshape(1, -1)).reshape(value.shape)
    return {node_id: value.cpu().numpy() for node_id, value in scaled.items()}


def first_layer_filters(model: fx.GraphModule, graph: Graph, node_id: str | None = None) -> np.ndarray | None:
    """Weights of the first Conv2d in topological order, (out, in, kh, kw) uint8.

    Each filter is scaled symmetrically, w / max|w| → 0..255 with 0 at 128, so the
    sign of a weight reads as darker or lighter than mid-grey. None if no Conv2d.
    ``node_id``: that node's :func:`first_conv_node`, when the caller knows it already.
    """
    node_id = node_id or first_conv_node(model, graph)
    if node_id is None:
        return None
    weight = node_module(model, node_id).weight.detach().float()
    peak = weight.abs().amax(dim=(1, 2, 3), keepdim=True)
    unit = torch.where(peak > 0, weight / torch.where(peak > 0, peak, 1.0), 0.0)
    return (unit * 127.5 + 128.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()


def first_conv_node(model: fx.GraphModule, graph: Graph) -> str | None:
    """The first compiled Conv2d in topological order (whose filters the Filters view shows)."""
    for node_id in live_ids(model):
        node = graph.nodes.get(node_id)
        if node is not None and node.type == "Conv2d":
            return node_id
    return None

