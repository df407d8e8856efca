"""What every probe shares: the model's device, evaluation mode, and cached taps.

Probes run inside the trainer between steps, so they must leave the model exactly
as they found it (each submodule's training flag) and must not rebuild an fx tap on
every call.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator, Sequence

import torch
from torch import fx, nn

from graph_engine.compiler import NODE_KEY, tap

#: at most this many taps are kept per model (the trainer uses a handful of node sets)
_TAPS_PER_MODEL = 16
_taps: "weakref.WeakKeyDictionary[fx.GraphModule, dict[tuple[str, ...], fx.GraphModule]]" = (
    weakref.WeakKeyDictionary())


def model_device(model: nn.Module) -> torch.device:
    """Where the model's weights live (the CPU for a model without any)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def live_ids(model: fx.GraphModule) -> list[str]:
    """Graph node ids with a compiled output, in topological order."""
    return list(model.meta[NODE_KEY])


def tapped(model: fx.GraphModule, node_ids: Sequence[str]) -> fx.GraphModule:
    """``tap(model, node_ids)``, built once per (model, node ids) and reused.

    A tap shares the model's submodules, so it always sees the current weights; the
    cache only saves rebuilding and recompiling the fx graph at every probe.
    """
    key = tuple(node_ids)
    per_model = _taps.setdefault(model, {})
    module = per_model.get(key)
    if module is None:
        if len(per_model) >= _TAPS_PER_MODEL:
            per_model.pop(next(iter(per_model)))
        module = per_model[key] = tap(model, key)
    return module


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode under ``torch.no_grad``; every submodule's training flag is restored."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, flag in flags:
            module.training = flag


def to_uint8(rows: torch.Tensor) -> torch.Tensor:
    """Min-max scale each row of a 2-d tensor to 0..255, on its device.

    A constant row gives 0; NaN and ±inf count as 0. Few kernels on purpose: probes
    scale many small images and a GPU pays per launch, not per pixel.
    """
    rows = torch.nan_to_num(rows.float(), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = torch.aminmax(rows, dim=1, keepdim=True)
    # where a row is constant, rows - low is exactly 0, so the huge factor gives 0
    factor = 255.0 / (high - low).clamp_min(1e-30)
    return ((rows - low) * factor).round_().to(torch.uint8)
