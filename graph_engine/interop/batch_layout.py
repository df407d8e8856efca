"""Values whose batch is not simply their first dimension: how the import describes them.

Windowed attention (Swin, MaxViT) folds its windows into the batch: ``x.view(B, h, 7, w, 7, C)
.permute(0, 1, 3, 2, 4, 5).reshape(B * h * w, 49, C)``, then moves that folded batch around
(``qkv.permute(2, 0, 3, 1, 4)``) and adds tensors that have no batch at all (a learned bias
table read at fixed indices, a mask computed from the shapes). A graph holds one sample per
value, so the walk keeps, for each such value, its :class:`Layout`: where the batch is among
the traced dims (``axis``), and whether that dim is the batch times a count of the sample's
own (``folded``: batch outer) — or that the value has no batch (``axis`` None: it is made from
the model's tensors alone). Each call becomes the layer that does the same to one sample.

Values made from the model's tensors alone are kept aside until a sample meets them: a
constant (a buffer, or computed from the shapes) stays a tensor and becomes a Constant node
there; a value computed from learned tensors (``table[index]``) becomes Parameter, IndexSelect,
Reshape … nodes with no batch of their own (their batch input: the sample they meet); one only
used as a layer's weight (``F.linear(x, w, bias.clone() with a zeroed part)``) is that
weight, as computed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import fx

from graph_engine.interop.fx_modules import Unsupported


@dataclass(frozen=True)
class Layout:
    """Where a traced value keeps the batch: dim ``axis`` (None: it has none), as the batch
    alone or, ``folded``, as the batch times the sample's own size there (batch outer)."""

    axis: int | None = 0
    folded: bool = False


PLAIN = Layout()
UNBATCHED = Layout(None)


@dataclass(frozen=True)
class Const:
    """A constant tensor (a buffer, or computed from the shapes alone)."""

    tensor: torch.Tensor


@dataclass(frozen=True)
class Lazy:
    """A value computed from the model's learned tensors alone, by fx node ``node`` (its
    ``meta["example"]`` is the value itself): a node chain only once a sample meets it."""

    node: fx.Node


def sample_shape(shape: tuple[int, ...], layout: Layout, batch: int) -> tuple[int, ...]:
    """One sample's shape of a traced value."""
    a = layout.axis
    if a is None:
        return tuple(shape)
    if layout.folded:
        return (*shape[:a], shape[a] // batch, *shape[a + 1:])
    return (*shape[:a], *shape[a + 1:])


def sample_axis(dim: int, rank: int, layout: Layout) -> int:
    """A traced dim as an axis of one sample (0 = the first dim after the batch)."""
    d = dim % rank
    if layout.axis is None or layout.folded:
        if layout.folded and d == layout.axis:
            raise Unsupported("it works along the dim that holds the batch")
        return d
    if d == layout.axis:
        raise Unsupported("it works along the batch dimension")
    return d if d < layout.axis else d - 1


UNARY = {"sigmoid": "Sigmoid", "relu": "ReLU", "gelu": "GELU", "exp": "Exp", "tanh": "Tanh"}
SAME = {"contiguous", "clone", "detach"}
SIZE_ARITHMETIC = {operator.getitem, operator.floordiv, operator.mul, operator.add, operator.sub,
                    operator.truediv, operator.neg, operator.pow, operator.mod}
#: torch.nn layers that work on the last dim or on each value alone: the same on any sample
LAST_DIM_LAYERS = {"Linear", "LayerNorm", "ReLU", "ReLU6", "GELU", "SiLU", "Sigmoid", "Tanh", "Dropout",
                    "Hardswish", "Hardsigmoid", "ELU", "LeakyReLU", "Identity"}
RESHAPES = {"view", "reshape", "flatten", "unsqueeze", "squeeze", "unflatten"}
#: the calls this half makes layers of
LAYOUT_CALLS = SAME | RESHAPES | set(UNARY) | {
    "permute", "transpose", "swapaxes", "swapdims", "getitem", "add", "mul", "truediv", "matmul", "linear",
    "cat", "concat", "einsum", "softmax", "normalize", "dropout", "clamp", "pad", "roll"}


def call_name(node: fx.Node) -> str:
    """A call's name for the rules below: a method's or a function's own name."""
    if node.op == "call_method":
        return str(node.target)
    if node.target is operator.getitem:
        return "getitem"
    for name, target in (("add", operator.add), ("add", operator.iadd), ("mul", operator.mul),
                         ("mul", operator.imul), ("matmul", operator.matmul), ("truediv", operator.truediv)):
        if node.target is target:
            return name
    return getattr(node.target, "__name__", str(node.target))
