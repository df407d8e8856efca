"""torch functions and Tensor methods -> layer types (the import's ``call_function`` and
``call_method`` half).

A rule binds the call's arguments to names (fx records them positionally or by keyword),
says which of them are the tensor inputs, and maps the rest to the layer's params. Reshapes
(``view``, ``flatten``, ``squeeze`` ...) are decided from the traced shapes: Flatten when a
sample becomes a vector, Reshape otherwise, nothing when the shape does not change.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.nn import functional as F

from graph_engine.interop.fx_modules import (
    Mapping, Unsupported, adaptive_params, int_or_pair, pool_params, softmax_dim, upsample_params,
)

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Bound:
    """A call's arguments by name, with the traced shapes of its first input and its output."""

    args: dict[str, Any]
    in_shape: Shape | None
    out_shape: Shape | None
    batch: int


@dataclass(frozen=True)
class Rule:
    #: parameter names in order, with defaults (no default: required)
    signature: tuple[tuple[str, Any], ...]
    convert: Callable[[Bound], Mapping]
    #: names of the arguments that carry tensors into the layer (a list for "tensors")
    inputs: tuple[str, ...] = ("input",)

    def bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        names = [name for name, _ in self.signature]
        bound = {name: default for name, default in self.signature}
        bound.update(zip(names, args))
        bound.update({k: v for k, v in kwargs.items() if k in bound})
        return bound


_REQUIRED = object()


def _sig(*names: str, **defaults: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((n, _REQUIRED) for n in names) + tuple(defaults.items())


def _fixed(layer: str, **params: Any) -> Callable[[Bound], Mapping]:
    return lambda b: (layer, dict(params))


def reshape_mapping(in_shape: Shape | None, out_shape: Shape | None, batch: int) -> Mapping:
    """Flatten, Reshape or identity, from the shapes before and after (batch first)."""
    if in_shape is None or out_shape is None:
        raise Unsupported("the shapes around it are unknown")
    if not in_shape or not out_shape or in_shape[0] != batch or out_shape[0] != batch:
        raise Unsupported("it changes the batch dimension")
    if tuple(out_shape) == tuple(in_shape):
        return None, {}
    if len(out_shape) == 2 and out_shape[1] == math.prod(in_shape[1:]):
        return "Flatten", {}
    if not 1 <= len(out_shape) - 1 <= 4:
        raise Unsupported(f"a sample of rank {len(out_shape) - 1} (Reshape takes 1 to 4 dimensions)")
    return "Reshape", {"shape": [int(d) for d in out_shape[1:]]}


def _reshape(b: Bound) -> Mapping:
    return reshape_mapping(b.in_shape, b.out_shape, b.batch)


def _add(b: Bound) -> Mapping:
    if not isinstance(b.args["other"], torch.fx.Node):
        raise Unsupported("adding a constant (Add sums tensors)")
    if b.args.get("alpha", 1) != 1:
        raise Unsupported("alpha ≠ 1")
    return "Add", {}


def _cat(b: Bound) -> Mapping:
    dim = b.args["dim"]
    if dim == 0 or (b.out_shape is not None and dim == -len(b.out_shape)):
        raise Unsupported("joining along the batch dimension")
    return "Concat", {"dim": dim - 1 if dim > 0 else dim}


def _max_pool(b: Bound) -> Mapping:
    a = b.args
    if int_or_pair(a["dilation"]) != 1 or a["ceil_mode"] or a.get("return_indices"):
        raise Unsupported("dilation, ceil_mode or return_indices")
    layer = "MaxPool1d" if b.in_shape is not None and len(b.in_shape) == 3 else "MaxPool2d"
    return layer, pool_params(a["kernel_size"], a["stride"], a["padding"])


def _avg_pool(b: Bound) -> Mapping:
    a = b.args
    if a["ceil_mode"] or not a["count_include_pad"] or a["divisor_override"] is not None:
        raise Unsupported("ceil_mode, count_include_pad=False or divisor_override")
    return "AvgPool2d", pool_params(a["kernel_size"], a["stride"], a["padding"])


def _gelu(b: Bound) -> Mapping:
    if b.args["approximate"] != "none":
        raise Unsupported(f"approximate={b.args['approximate']!r}")
    return "GELU", {}


def _interpolate(b: Bound) -> Mapping:
    a = b.args
    if a.get("antialias"):
        raise Unsupported("antialias=True")
    return "Upsample", upsample_params(a["scale_factor"], a["size"], a["mode"], a["align_corners"],
                                       b.in_shape, b.out_shape)


_POOL_MAX = _sig("input", "kernel_size", stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False)
_POOL_AVG = _sig("input", "kernel_size", stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None)
_UNARY = _sig("input", inplace=False)
_SOFTMAX = Rule(_sig("input", dim=None), lambda b: ("Softmax", {"dim": softmax_dim(b.args["dim"])}))
_RESHAPE = Rule(_sig("input"), _reshape)
_ADD = Rule(_sig("input", "other", alpha=1), _add, ("input", "other"))
_IDENTITY = Rule(_sig("input"), lambda b: (None, {}))

FUNCTION_RULES: dict[Any, Rule] = {
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD,
    torch.cat: Rule(_sig("tensors", dim=0), _cat, ("tensors",)),
    torch.concat: Rule(_sig("tensors", dim=0), _cat, ("tensors",)),
    torch.flatten: _RESHAPE, torch.reshape: _RESHAPE, torch.squeeze: _RESHAPE, torch.unsqueeze: _RESHAPE,
    torch.relu: Rule(_UNARY, _fixed("ReLU")), F.relu: Rule(_UNARY, _fixed("ReLU")),
    torch.sigmoid: Rule(_UNARY, _fixed("Sigmoid")), F.sigmoid: Rule(_UNARY, _fixed("Sigmoid")),
    torch.tanh: Rule(_UNARY, _fixed("Tanh")), F.tanh: Rule(_UNARY, _fixed("Tanh")),
    F.gelu: Rule(_sig("input", approximate="none"), _gelu),
    F.leaky_relu: Rule(_sig("input", negative_slope=0.01, inplace=False),
                       lambda b: ("LeakyReLU", {"negative_slope": float(b.args["negative_slope"])})),
    torch.softmax: _SOFTMAX, F.softmax: _SOFTMAX,
    F.max_pool2d: Rule(_POOL_MAX, _max_pool), F.max_pool1d: Rule(_POOL_MAX, _max_pool),
    torch.max_pool2d: Rule(_POOL_MAX, _max_pool), torch.max_pool1d: Rule(_POOL_MAX, _max_pool),
    F.avg_pool2d: Rule(_POOL_AVG, _avg_pool),
    F.adaptive_avg_pool2d: Rule(_sig("input", "output_size"),
                                lambda b: ("AdaptiveAvgPool2d", adaptive_params(b.args["output_size"]))),
    F.dropout: Rule(_sig("input", p=0.5, training=True, inplace=False),
                    lambda b: ("Dropout", {"p": float(b.args["p"])})),
    F.dropout2d: Rule(_sig("input", p=0.5, training=True, inplace=False),
                      lambda b: ("Dropout2d", {"p": float(b.args["p"])})),
    F.interpolate: Rule(_sig("input", size=None, scale_factor=None, mode="nearest", align_corners=None,
                             recompute_scale_factor=None, antialias=False), _interpolate),
}

METHOD_RULES: dict[str, Rule] = {
    "add": _ADD, "add_": _ADD, "__add__": _ADD,
    "view": _RESHAPE, "reshape": _RESHAPE, "flatten": _RESHAPE, "unflatten": _RESHAPE,
    "squeeze": _RESHAPE, "unsqueeze": _RESHAPE,
    "relu": Rule(_sig("input"), _fixed("ReLU")), "relu_": Rule(_sig("input"), _fixed("ReLU")),
    "sigmoid": Rule(_sig("input"), _fixed("Sigmoid")), "tanh": Rule(_sig("input"), _fixed("Tanh")),
    "softmax": _SOFTMAX, "contiguous": _IDENTITY, "clone": _IDENTITY,
}


def rule_for(op: str, target: Any) -> Rule | None:
    if op == "call_method":
        return METHOD_RULES.get(target)
    try:
        return FUNCTION_RULES.get(target)
    except TypeError:  # an unhashable target
        return None
