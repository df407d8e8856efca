"""Helpers shared by the layer declarations: rank checks, window arithmetic."""

from __future__ import annotations

import math
from typing import Sequence

from graph_engine.params import ParamSpec
from graph_engine.registry import Fix, Shape, ShapeError
from graph_engine.shape_format import shape_text


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


RANK_NAMES = {1: "(features)", 2: "(C, L)", 3: "(C, H, W)"}


def require_rank(layer: str, shape: Shape, rank: int, *, what: str | None = None,
                 fix: Fix | None = None) -> None:
    """Raise a ShapeError naming what this layer needs and what it got."""
    if len(shape) != rank:
        wanted = what or RANK_NAMES.get(rank, f"rank-{rank}")
        raise ShapeError(f"{layer} needs a {wanted} input, got {shape_text(shape)}", fix)


def flatten_fix() -> Fix:
    return Fix(label="Insert a Flatten", layer_type="Flatten")


def window_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a sliding window (torch's floor formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def check_window(layer: str, sizes: Sequence[int], kernels: Sequence[int], paddings: Sequence[int],
                 dilations: Sequence[int]) -> None:
    """Refuse a (dilated) kernel larger than its padded input."""
    for size, k, p, d in zip(sizes, kernels, paddings, dilations):
        k_eff = d * (k - 1) + 1
        if k_eff > size + 2 * p:
            dims = "×".join(str(d * (k - 1) + 1) for k, d in zip(kernels, dilations))
            padded = "×".join(str(s + 2 * p) for s, p in zip(sizes, paddings))
            raise ShapeError(f"{layer}: kernel {dims} is larger than the padded input {padded}")


def torch_kwargs(params: dict, torch_defaults: dict) -> dict:
    """Keyword arguments for the params that differ from torch's own defaults (readable code)."""
    return {name: params[name] for name, default in torch_defaults.items()
            if params[name] != default and params[name] != [default, default]}


def int_param(name: str, default: int, help: str, minimum: int = 1, maximum: int = 1 << 20) -> ParamSpec:
    return ParamSpec(name, "int", default, help, minimum=minimum, maximum=maximum)


def bool_param(name: str, default: bool, help: str) -> ParamSpec:
    return ParamSpec(name, "bool", default, help)


def float_param(name: str, default: float, help: str, minimum: float | None = None,
                maximum: float | None = None) -> ParamSpec:
    return ParamSpec(name, "float", default, help, minimum=minimum, maximum=maximum)
