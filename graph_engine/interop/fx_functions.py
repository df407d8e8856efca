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
    Mapping, Unsupported, adaptive_params, int_or_pair, pool_params, sample_dim, softmax_dim,
    upsample_params,
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
    #: the last parameter collects the remaining positional arguments: x.permute(0, 2, 1)
    rest: bool = False
    #: arguments that are the layer's weights: learned tensors of the model (F.layer_norm's)
    weights: tuple[str, ...] = ()
    #: the input may be a learned tensor of the model made batch-sized (its expand)
    learned_input: bool = False
    #: the node is named after the module whose forward makes the call (a module such as
    #: torchvision's LayerNorm2d or StochasticDepth that is one function call)
    named_by_module: bool = False

    def bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        names = [name for name, _ in self.signature]
        bound = {name: default for name, default in self.signature}
        if self.rest and len(args) >= len(names):
            last = args[len(names) - 1:]
            packed = last[0] if len(last) == 1 and isinstance(last[0], (tuple, list)) else tuple(last)
            args = (*args[:len(names) - 1], packed)
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
    if not 1 <= len(out_shape) - 1 <= 6:
        raise Unsupported(f"a sample of rank {len(out_shape) - 1} (Reshape takes 1 to 6 dimensions)")
    return "Reshape", {"shape": [int(d) for d in out_shape[1:]]}


def _reshape(b: Bound) -> Mapping:
    return reshape_mapping(b.in_shape, b.out_shape, b.batch)


def _add(b: Bound) -> Mapping:
    if not isinstance(b.args["other"], torch.fx.Node):
        raise Unsupported("adding a constant (Add sums tensors)")
    if b.args.get("alpha", 1) != 1:
        raise Unsupported("alpha ≠ 1")
    return "Add", {}


def _mul(b: Bound) -> Mapping:
    if not isinstance(b.args["other"], torch.fx.Node):
        raise Unsupported("multiplying by a constant (Mul multiplies tensors)")
    return "Mul", {}


def _rank(b: Bound) -> int:
    """The input's rank with the batch."""
    if b.in_shape is None:
        raise Unsupported("the shapes around it are unknown")
    return len(b.in_shape)


def _dims(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _permute(b: Bound) -> Mapping:
    dims = [int(d) % _rank(b) for d in _dims(b.args["dims"])]
    if not dims or dims[0] != 0:
        raise Unsupported("it moves the batch dimension")
    return "Permute", {"dims": [d - 1 for d in dims[1:]]}


def _transpose(b: Bound) -> Mapping:
    rank = _rank(b)
    return "Transpose", {"dim0": sample_dim(b.args["dim0"], rank), "dim1": sample_dim(b.args["dim1"], rank)}


def _reduce(layer: str):
    def convert(b: Bound) -> Mapping:
        a = b.args
        if a["dim"] is None or _dims(a["dim"]) == ():
            raise Unsupported("reducing over every dimension, the batch included")
        if a.get("dtype") is not None:
            raise Unsupported("dtype=")
        rank = _rank(b)
        return layer, {"dim": [sample_dim(d, rank) for d in _dims(a["dim"])], "keepdim": bool(a["keepdim"])}

    return convert


def _chunk(b: Bound) -> Mapping:
    return "Chunk", {"chunks": int(b.args["chunks"]), "dim": sample_dim(b.args["dim"], _rank(b))}


def _split(b: Bound) -> Mapping:
    dim = sample_dim(b.args["dim"], _rank(b))
    sizes = b.args["split_size_or_sections"]
    if isinstance(sizes, int):  # pieces of this size, the last one shorter
        length = b.in_shape[dim + 1 if dim >= 0 else dim]
        sizes = [min(sizes, length - start) for start in range(0, length, sizes)]
    return "Split", {"split_size_or_sections": [int(n) for n in sizes], "dim": dim}


def _expand(b: Bound) -> Mapping:
    """The target sizes as traced (a size may be a value computed at run time)."""
    if b.in_shape is None or b.out_shape is None:
        raise Unsupported("the shapes around it are unknown")
    if len(b.out_shape) != len(b.in_shape) or b.out_shape[0] != b.in_shape[0]:
        raise Unsupported("it adds dimensions or expands the batch dimension")
    return "Expand", {"shape": [int(n) for n in b.out_shape[1:]]}


def _index(b: Bound) -> Mapping:
    """``x[:, 0]`` -> Select, ``x[:, 1:5]`` or ``x[..., ::2]`` -> Slice: one dim indexed."""
    rank = _rank(b)
    parts = b.args["index"] if isinstance(b.args["index"], tuple) else (b.args["index"],)
    if parts.count(Ellipsis) > 1 or any(p is None or isinstance(p, torch.fx.Node) for p in parts):
        raise Unsupported("indexing with None, a tensor or a computed value")
    if Ellipsis in parts:
        cut = parts.index(Ellipsis)
        parts = parts[:cut] + (slice(None),) * (rank - len(parts) + 1) + parts[cut + 1:]
    picked = [(axis, p) for axis, p in enumerate(parts) if p != slice(None)]
    if len(picked) != 1 or picked[0][0] == 0 or len(parts) > rank:
        raise Unsupported("indexing the batch dimension or more than one dimension at once")
    axis, part = picked[0]
    if isinstance(part, int):
        return "Select", {"dim": axis - 1, "index": part}
    if not isinstance(part, slice) or not all(v is None or isinstance(v, int)
                                              for v in (part.start, part.stop, part.step)):
        raise Unsupported("an index that is not a number or a slice of numbers")
    return "Slice", {"dim": axis - 1, "start": part.start or 0, "end": part.stop, "step": part.step or 1}


def _cat(b: Bound) -> Mapping:
    if len(b.args["tensors"]) == 1:  # DenseNet's torch.cat([x], 1): x itself
        return None, {}
    dim = b.args["dim"]
    if dim == 0 or (b.out_shape is not None and dim == -len(b.out_shape)):
        raise Unsupported("joining along the batch dimension")
    return "Concat", {"dim": dim - 1 if dim > 0 else dim}


def _layer_norm(b: Bound) -> Mapping:
    """``F.layer_norm`` over the last dimension (its weights: the model's learned tensors)."""
    a = b.args
    shape = a["normalized_shape"]
    shape = tuple(shape) if isinstance(shape, (tuple, list, torch.Size)) else (shape,)
    if len(shape) != 1 or b.in_shape is None or tuple(b.in_shape[-1:]) != tuple(shape):
        raise Unsupported(f"normalized_shape={list(shape)}: LayerNorm normalises over the last dimension")
    if (a["weight"] is None) != (a["bias"] is None):
        raise Unsupported("a weight without a bias or a bias without a weight")
    return "LayerNorm", {"eps": float(a["eps"]), "elementwise_affine": a["weight"] is not None,
                         "channels_first": False}


def _stochastic_depth(b: Bound) -> Mapping:
    """torchvision.ops.stochastic_depth(input, p, mode, training): StochasticDepth with its p and
    mode (``training`` is the module's mode, which the graph's own train/eval switch replaces)."""
    mode, p = b.args["mode"], b.args["p"]
    if mode not in ("row", "batch"):
        raise Unsupported(f"mode={mode!r} (row or batch)")
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise Unsupported(f"p={p!r}")
    return "StochasticDepth", {"p": float(p), "mode": mode}


def _max_pool(b: Bound) -> Mapping:
    a = b.args
    if int_or_pair(a["dilation"]) != 1 or a.get("return_indices"):
        raise Unsupported("dilation or return_indices")
    layer = "MaxPool1d" if b.in_shape is not None and len(b.in_shape) == 3 else "MaxPool2d"
    return layer, pool_params(a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"])


def _avg_pool(b: Bound) -> Mapping:
    a = b.args
    if a["divisor_override"] is not None:
        raise Unsupported("divisor_override")
    return "AvgPool2d", pool_params(a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"],
                                    a["count_include_pad"])


def _adaptive_max(b: Bound) -> Mapping:
    if b.args["return_indices"]:
        raise Unsupported("return_indices=True")
    return "AdaptiveMaxPool2d", adaptive_params(b.args["output_size"])


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
_MUL = Rule(_sig("input", "other"), _mul, ("input", "other"))
_MATMUL = Rule(_sig("input", "other"), _fixed("MatMul"), ("input", "other"))
_TRANSPOSE = Rule(_sig("input", "dim0", "dim1"), _transpose)
_CHUNK = Rule(_sig("input", "chunks", dim=0), _chunk)
_SPLIT = Rule(_sig("input", "split_size_or_sections", dim=0), _split)
_MEAN = Rule(_sig("input", dim=None, keepdim=False, dtype=None), _reduce("Mean"))
_SUM = Rule(_sig("input", dim=None, keepdim=False, dtype=None), _reduce("Sum"))


def _unary(layer: str) -> Rule:
    return Rule(_UNARY, _fixed(layer))


FUNCTION_RULES: dict[Any, Rule] = {
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD,
    torch.cat: Rule(_sig("tensors", dim=0), _cat, ("tensors",)),
    torch.concat: Rule(_sig("tensors", dim=0), _cat, ("tensors",)),
    torch.flatten: _RESHAPE, torch.reshape: _RESHAPE, torch.squeeze: _RESHAPE, torch.unsqueeze: _RESHAPE,
    torch.relu: Rule(_UNARY, _fixed("ReLU")), F.relu: Rule(_UNARY, _fixed("ReLU")),
    torch.sigmoid: Rule(_UNARY, _fixed("Sigmoid")), F.sigmoid: Rule(_UNARY, _fixed("Sigmoid")),
    torch.tanh: Rule(_UNARY, _fixed("Tanh")), F.tanh: Rule(_UNARY, _fixed("Tanh")),
    F.gelu: Rule(_sig("input", approximate="none"), _gelu),
    F.relu6: _unary("ReLU6"), F.silu: _unary("SiLU"), F.hardswish: _unary("Hardswish"),
    F.hardsigmoid: _unary("Hardsigmoid"),
    F.elu: Rule(_sig("input", alpha=1.0, inplace=False),
                lambda b: ("ELU", {"alpha": float(b.args["alpha"])})),
    operator.mul: _MUL, operator.imul: _MUL, torch.mul: _MUL,
    operator.matmul: _MATMUL, torch.matmul: _MATMUL, torch.bmm: _MATMUL,
    torch.permute: Rule(_sig("input", "dims"), _permute), torch.transpose: _TRANSPOSE,
    torch.swapaxes: _TRANSPOSE, torch.swapdims: _TRANSPOSE,
    torch.chunk: _CHUNK, torch.split: _SPLIT, torch.mean: _MEAN, torch.sum: _SUM,
    operator.getitem: Rule(_sig("input", "index"), _index),
    F.leaky_relu: Rule(_sig("input", negative_slope=0.01, inplace=False),
                       lambda b: ("LeakyReLU", {"negative_slope": float(b.args["negative_slope"])})),
    torch.softmax: _SOFTMAX, F.softmax: _SOFTMAX,
    F.max_pool2d: Rule(_POOL_MAX, _max_pool), F.max_pool1d: Rule(_POOL_MAX, _max_pool),
    torch.max_pool2d: Rule(_POOL_MAX, _max_pool), torch.max_pool1d: Rule(_POOL_MAX, _max_pool),
    F.avg_pool2d: Rule(_POOL_AVG, _avg_pool),
    F.adaptive_avg_pool2d: Rule(_sig("input", "output_size"),
                                lambda b: ("AdaptiveAvgPool2d", adaptive_params(b.args["output_size"]))),
    F.adaptive_max_pool2d: Rule(_sig("input", "output_size", return_indices=False), _adaptive_max),
    F.dropout: Rule(_sig("input", p=0.5, training=True, inplace=False),
                    lambda b: ("Dropout", {"p": float(b.args["p"])})),
    F.dropout2d: Rule(_sig("input", p=0.5, training=True, inplace=False),
                      lambda b: ("Dropout2d", {"p": float(b.args["p"])})),
    F.interpolate: Rule(_sig("input", size=None, scale_factor=None, mode="nearest", align_corners=None,
                             recompute_scale_factor=None, antialias=False), _interpolate),
    F.layer_norm: Rule(_sig("input", "normalized_shape", weight=None, bias=None, eps=1e-5), _layer_norm,
                       weights=("weight", "bias"), named_by_module=True),
}

#: functions of other libraries, by (module, name): no import of the library is needed
NAMED_FUNCTION_RULES: dict[tuple[str, str], Rule] = {
    ("torchvision.ops.stochastic_depth", "stochastic_depth"): Rule(
        _sig("input", "p", "mode", training=True), _stochastic_depth, named_by_module=True),
}

METHOD_RULES: dict[str, Rule] = {
    "add": _ADD, "add_": _ADD, "__add__": _ADD,
    "view": _RESHAPE, "reshape": _RESHAPE, "flatten": _RESHAPE, "unflatten": _RESHAPE,
    "squeeze": _RESHAPE, "unsqueeze": _RESHAPE,
    "relu": Rule(_sig("input"), _fixed("ReLU")), "relu_": Rule(_sig("input"), _fixed("ReLU")),
    "sigmoid": Rule(_sig("input"), _fixed("Sigmoid")), "tanh": Rule(_sig("input"), _fixed("Tanh")),
    "softmax": _SOFTMAX, "contiguous": _IDENTITY, "clone": _IDENTITY,
    "mul": _MUL, "mul_": _MUL, "__mul__": _MUL, "matmul": _MATMUL, "bmm": _MATMUL,
    "permute": Rule(_sig("input", "dims"), _permute, rest=True),
    "transpose": _TRANSPOSE, "swapaxes": _TRANSPOSE, "swapdims": _TRANSPOSE, "chunk": _CHUNK, "split": _SPLIT, "mean": _MEAN, "sum": _SUM,
    "expand": Rule(_sig("input", "size"), _expand, rest=True, learned_input=True),
}


def rule_for(op: str, target: Any) -> Rule | None:
    if op == "call_method":
        return METHOD_RULES.get(target)
    try:
        rule = FUNCTION_RULES.get(target)
    except TypeError:  # an unhashable target
        return None
    if rule is None:
        rule = NAMED_FUNCTION_RULES.get((getattr(target, "__module__", None), getattr(target, "__name__", None)))
    return rule
