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


def window_out(size: int, kernel: int, stride: int, padding: int, dilation: int,
               ceil_mode: bool = False) -> int:
    """Output length of a sliding window: torch's floor formula, or with ``ceil_mode`` its
    ceiling formula, less a last window that would start in the right padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def torch_dim(dim: int) -> int:
    """A dim counted without the batch (the params' way) as torch counts it: 0 -> 1, -1 -> -1."""
    return dim + 1 if dim >= 0 else dim


def sample_axis(layer: str, dim: int, shape: Shape, what: str = "dim") -> int:
    """``dim`` of a sample of ``shape`` as an axis 0 … rank-1; a ShapeError when out of range
    (a negative dim may not reach the batch)."""
    rank = len(shape)
    if not -rank <= dim < rank:
        raise ShapeError(f"{layer}: {what} {dim} is out of range for a {shape_text(shape)} input "
                         f"(use {-rank} … {rank - 1}; the batch dimension is not counted)")
    return dim % rank


def broadcast(layer: str, shapes: Sequence[Shape]) -> Shape:
    """The shape samples of equal rank broadcast to (each size equal or 1), else a ShapeError.
    Ranks must match: torch would align a shorter sample's axes against the batch axis."""
    first = shapes[0]
    for port, shape in enumerate(shapes[1:], start=1):
        if len(shape) != len(first) or any(a != b and 1 not in (a, b) for a, b in zip(first, shape)):
            raise ShapeError(f"{layer}: input {port} is {shape_text(shape)} but input 0 is "
                             f"{shape_text(first)}; each size must match or be 1, with as many "
                             "dimensions")
    return tuple(max(sizes) for sizes in zip(*shapes))


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
