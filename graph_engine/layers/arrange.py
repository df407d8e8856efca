"""Operations windowed attention is made of (Swin, MaxViT): Roll and Pad (move and border the
positions), Scale (times a constant), Normalize (unit length along a dim), Exp and Clamp, a
Constant (a stored tensor: an attention mask computed from the shapes) and IndexSelect (a
fixed index into a dim: a relative position bias read from its learned table).

As everywhere, every ``dim`` counts the axes of one sample, without the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph_engine.layers._common import float_param, numel, sample_axis, shape_text, torch_dim
from graph_engine.params import ParamSpec
from graph_engine.registry import (
    AxisField, LayerSpec, Port, ShapeError, function_forward, no_field, pointwise_field, register,
)

CATEGORY = "Tensor ops"
#: the longest stored list (a Constant's values, an IndexSelect's index): 2²⁴ numbers
_LONG = 1 << 24
_BIG = 1 << 20
#: a Clamp bound this far out is no bound
_NO_LIMIT = 1e30


# -- Roll ----------------------------------------------------------------------------------------
def _roll_shape(params, in_shapes):
    shifts, dims = params["shifts"], params["dims"]
    if len(shifts) != len(dims):
        raise ShapeError(f"Roll: {len(shifts)} shifts for {len(dims)} dims (one shift per dim)")
    for dim in dims:  # a dim named twice is rolled twice, as torch does
        sample_axis("Roll", dim, in_shapes[0])
    return in_shapes[0]


register(LayerSpec(
    type="Roll", category="Reshape",
    help="Shifts each sample cyclically along dims (what leaves one end comes back at the "
         "other): Swin's shifted windows, torch.roll.",
    params=(ParamSpec("shifts", "shape", [1], "The shift along each dim (negative: backwards).",
                      minimum=-_BIG, maximum=_BIG, min_length=1, max_length=6),
            ParamSpec("dims", "shape", [0], "The dims to roll, without the batch dimension.",
                      minimum=-8, maximum=7, min_length=1, max_length=6)),
    shape=_roll_shape, field=no_field,
    forward=function_forward("torch.roll", lambda p, s: {
        "shifts": tuple(p["shifts"]), "dims": tuple(torch_dim(d) for d in p["dims"])}),
    input_dtype="any", output_dtype=None, key_params=("shifts", "dims"),
))


# -- Pad -----------------------------------------------------------------------------------------
def _pad_shape(params, in_shapes):
    source, pad = in_shapes[0], params["pad"]
    if len(pad) % 2 or len(pad) // 2 > len(source):
        raise ShapeError(f"Pad: pad {pad} needs two numbers (before, after) per dim, for at most the "
                         f"{len(source)} dims of {shape_text(source)} (the last dim first)")
    out = list(source)
    for i in range(len(pad) // 2):
        axis = len(source) - 1 - i
        out[axis] += pad[2 * i] + pad[2 * i + 1]
        if out[axis] < 1:
            raise ShapeError(f"Pad: pad {pad} leaves nothing of {shape_text(source)}")
    return tuple(out)


def _pad_field(params, in_shapes, fields):
    """Padding (C, H, W) at the top or left moves each position by what was put before it."""
    source = fields[0] if fields else None
    pad = params["pad"]
    if source is None or len(in_shapes[0]) != 3 or len(pad) > 4 or len(source) != 2:
        return None if source is None or len(pad) > 4 else pointwise_field(params, in_shapes, fields)
    before = [pad[2] if len(pad) > 2 else 0, pad[0]]  # (H, W)
    return tuple(AxisField(a.size, a.jump, a.start - b * a.jump) for a, b in zip(source, before))


register(LayerSpec(
    type="Pad", category="Reshape",
    help="Adds value before and after the last dims of each sample, as F.pad: pad [left, right, "
         "top, bottom] widens (C, H, W) by left + right and top + bottom.",
    params=(ParamSpec("pad", "shape", [0, 1], "(before, after) per dim, the last dim first.",
                      minimum=0, maximum=_BIG, min_length=2, max_length=12),
            float_param("value", 0.0, "The value put in the border.")),
    shape=_pad_shape, field=_pad_field,
    forward=function_forward("torch.nn.functional.pad", lambda p, s: {
        "pad": tuple(p["pad"]), **({"value": p["value"]} if p["value"] else {})}),
    input_dtype="any", output_dtype=None, key_params=("pad",),
))


# -- Scale, Exp, Clamp, Normalize ----------------------------------------------------------------
def _same(params, in_shapes):
    return in_shapes[0]


register(LayerSpec(
    type="Scale", category=CATEGORY,
    help="Multiplies by a constant factor: attention's 1/sqrt(head size), a fixed gain.",
    params=(float_param("factor", 1.0, "The factor."),),
    shape=_same, macs=lambda p, s, o: numel(o),
    forward=lambda b, xs, p, s: b.function("torch.mul", xs[0], p["factor"]),
    key_params=("factor",),
))

register(LayerSpec(
    type="Exp", category=CATEGORY,
    help="e to the power of each value (a learned log-scale made a scale).",
    shape=_same, macs=lambda p, s, o: numel(o), forward=function_forward("torch.exp"),
))


def _clamp_shape(params, in_shapes):
    low, high = params["min"], params["max"]
    if low > high:
        raise ShapeError(f"Clamp: min {low} is above max {high}")
    return in_shapes[0]


def _clamp_forward(b, inputs, params, in_shapes):
    bounds = {k: params[k] for k in ("min", "max") if abs(params[k]) != _NO_LIMIT} \
        or {"min": params["min"]}  # torch.clamp takes at least one bound
    return b.function("torch.clamp", inputs[0], **bounds)


register(LayerSpec(
    type="Clamp", category=CATEGORY,
    help="Limits each value to [min, max] (±1e30: no limit): Swin V2's capped logit scale.",
    params=(float_param("min", -_NO_LIMIT, f"Lowest value ({-_NO_LIMIT:g}: none)."),
            float_param("max", _NO_LIMIT, f"Highest value ({_NO_LIMIT:g}: none).")),
    shape=_clamp_shape, forward=_clamp_forward, key_params=("min", "max"),
))


def _normalize_shape(params, in_shapes):
    sample_axis("Normalize", params["dim"], in_shapes[0])
    return in_shapes[0]


register(LayerSpec(
    type="Normalize", category="Normalization & regularization",
    help="Divides each vector along dim by its length (p-norm, at least eps): cosine "
         "attention compares directions, not sizes.",
    params=(ParamSpec("dim", "int", -1, "Dimension, without the batch dimension.", minimum=-8, maximum=7),
            float_param("p", 2.0, "The norm's exponent.", minimum=0.0),
            float_param("eps", 1e-12, "Smallest length divided by.", minimum=0.0)),
    shape=_normalize_shape, field=no_field, macs=lambda p, s, o: 3 * numel(o),
    forward=function_forward("torch.nn.functional.normalize", lambda p, s: {
        "p": p["p"], "dim": torch_dim(p["dim"]), "eps": p["eps"]}),
    key_params=("dim",),
))


# -- Constant ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstantCall:
    """A fixed tensor of shape (1, *shape), a buffer of the module (saved with its weights, never
    trained), as PyTorch code holds a precomputed attention mask:
    ``nn.Buffer(torch.tensor([...]).reshape(1, ...))``."""

    shape: tuple[int, ...]
    values: tuple[float, ...]

    def build(self):
        import torch
        from torch import nn

        return nn.Buffer(torch.tensor(self.values, dtype=torch.float32).reshape(1, *self.shape))

    def code(self) -> str:
        from graph_engine.source_text import py_literal

        size = ", ".join(py_literal(n) for n in (1, *self.shape))
        values = "[" + ", ".join(py_literal(v) for v in self.values) + "]"
        return f"nn.Buffer(torch.tensor({values}).reshape({size}))"


def _constant_shape(params, in_shapes):
    shape, values = params["shape"], params["values"]
    if numel(shape) != len(values):
        raise ShapeError(f"Constant: shape {shape_text(tuple(shape))} holds {numel(shape)} values, "
                         f"{len(values)} are given")
    return tuple(shape)


register(LayerSpec(
    type="Constant", category=CATEGORY,
    help="A fixed tensor of the given sample shape, stored in the file: e.g. an attention mask "
         "computed from the shapes. Its input port only gives the batch size to expand it to.",
    params=(ParamSpec("shape", "shape", [1], "The tensor's shape, without the batch dimension.",
                      min_length=1, max_length=6),
            ParamSpec("values", "values", [0.0], "The values, flattened (the last dim fastest).",
                      min_length=1, max_length=_LONG)),
    input_ports=(Port("batch"),),
    shape=_constant_shape, field=no_field,
    module=lambda p, s: ConstantCall(tuple(p["shape"]), tuple(p["values"])),
    forward=lambda b, xs, p, s: b.parameter(xs[0], len(p["shape"])),
    input_dtype="any", key_params=("shape",),
))


# -- IndexSelect -----------------------------------------------------------------------------------
def _index_select_shape(params, in_shapes):
    source = in_shapes[0]
    axis = sample_axis("IndexSelect", params["dim"], source)
    bad = [i for i in params["index"] if not -source[axis] <= i < source[axis]]
    if bad:
        raise ShapeError(f"IndexSelect: index {bad[0]} is out of range for size {source[axis]} "
                         f"(dim {params['dim']} of {shape_text(source)})")
    return tuple(len(params["index"]) if i == axis else n for i, n in enumerate(source))


def _index_select_forward(b, inputs, params, in_shapes):
    dim = params["dim"]
    index = list(params["index"])
    part = (slice(None),) * (dim + 1) + (index,) if dim >= 0 \
        else (Ellipsis, index) + (slice(None),) * (-dim - 1)
    return b.getitem(inputs[0], part)


register(LayerSpec(
    type="IndexSelect", category=CATEGORY,
    help="Picks the given indices along a dim, in that order (repeats allowed): a relative "
         "position bias read from its learned table, x[:, [3, 0, 3]].",
    params=(ParamSpec("dim", "int", 0, "Dimension, without the batch dimension.", minimum=-8, maximum=7),
            ParamSpec("index", "shape", [0], "The indices, in order.", minimum=-_BIG, maximum=_BIG,
                      min_length=1, max_length=_LONG)),
    shape=_index_select_shape, field=no_field, forward=_index_select_forward,
    input_dtype="any", output_dtype=None, key_params=("dim",),
))
