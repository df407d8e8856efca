"""Merges: Add (residual), Mul (gating) and Concat (dense / U-Net skips)."""

from __future__ import annotations

from graph_engine.layers._common import broadcast, int_param, numel, shape_text
from graph_engine.registry import (
    Fix, LayerSpec, ShapeError, function_forward, merge_field, no_field, register,
)


def _projection_fix(port: int, target, source) -> Fix | None:
    """A 1×1 Conv2d that maps input ``port``'s (C, H, W) onto ``target``'s, when a stride can."""
    if len(target) != 3 or len(source) != 3:
        return None
    h_ratio, w_ratio = source[1] / target[1], source[2] / target[2]
    if h_ratio != w_ratio or not h_ratio.is_integer() or h_ratio < 1:
        return None
    stride = int(h_ratio)
    params = {"out_channels": target[0], "kernel_size": 1}
    if stride > 1:
        params["stride"] = stride
    suffix = f", stride {stride}" if stride > 1 else ""
    return Fix(label=f"Insert a 1×1 Conv2d projection to {target[0]} channels{suffix} on input {port}",
               layer_type="Conv2d", params=params, port=port)


def _add_shape(params, in_shapes):
    first = in_shapes[0]
    for port, shape in enumerate(in_shapes[1:], start=1):
        if shape != first:
            raise ShapeError(f"Add: input {port} is {shape_text(shape)} but input 0 is "
                             f"{shape_text(first)}; shapes must match",
                             _projection_fix(port, first, shape))
    return first


def _add_forward(b, inputs, params, in_shapes):
    total = inputs[0]
    for value in inputs[1:]:
        total = b.add(total, value)
    return total


register(LayerSpec(
    type="Add", category="Merge / skip",
    help="Element-wise sum of two or more inputs of the same shape (residual connections).",
    inputs=(2, None), shape=_add_shape, field=merge_field, forward=_add_forward,
))

register(LayerSpec(
    type="Mul", category="Merge / skip",
    help="Element-wise product of two inputs; a size 1 broadcasts, so a (C, 1, 1) gate scales "
         "the channels of (C, H, W) (squeeze-and-excitation, layer scale).",
    inputs=(2, 2), shape=lambda p, s: broadcast("Mul", s), field=merge_field,
    macs=lambda p, s, o: numel(o), forward=function_forward("torch.mul"),
))


def _axis(dim: int, rank: int) -> int:
    return dim if dim >= 0 else rank + dim


def _concat_shape(params, in_shapes):
    rank = len(in_shapes[0])
    dim = params["dim"]
    if not -rank <= dim < rank:
        raise ShapeError(f"Concat: dim {dim} is out of range for {rank}-d inputs "
                         f"(use {-rank} … {rank - 1}; the batch dimension is not counted)")
    axis = _axis(dim, rank)
    first = in_shapes[0]
    for port, shape in enumerate(in_shapes[1:], start=1):
        if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
            raise ShapeError(f"Concat: input {port} is {shape_text(shape)} but input 0 is "
                             f"{shape_text(first)}; all dimensions but dim {dim} must match")
    return tuple(sum(s[axis] for s in in_shapes) if i == axis else d for i, d in enumerate(first))


def _concat_field(params, in_shapes, fields):
    """Joining channels merges the fields; joining along a spatial axis has no single field."""
    if _axis(params["dim"], len(in_shapes[0])) == 0:
        return merge_field(params, in_shapes, fields)
    return no_field(params, in_shapes, fields)


def _concat_forward(b, inputs, params, in_shapes):
    dim = params["dim"]
    return b.cat(inputs, dim + 1 if dim >= 0 else dim)


register(LayerSpec(
    type="Concat", category="Merge / skip",
    help="Joins two or more inputs along dim (in port order; dim 0 = channels/features).",
    params=(int_param("dim", 0, "Dimension to join along, without the batch dimension.",
                      minimum=-8, maximum=7),),
    inputs=(2, None), shape=_concat_shape, field=_concat_field, forward=_concat_forward,
    input_dtype="any", output_dtype=None, key_params=("dim",),
))
