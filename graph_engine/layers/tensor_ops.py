"""Tensor operations: MatMul, Select, Slice, Chunk, Split, Mean, Sum and Parameter (a learned
tensor), and the axis moves Permute, Transpose and Expand (in the palette's Reshape).

Every ``dim`` counts the axes of one sample, without the batch (0 = channels/features), as
Concat's and Softmax's do; a negative dim counts from the end and never reaches the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from graph_engine.layers._common import (
    bool_param, broadcast, float_param, int_param, numel, sample_axis, shape_text, torch_dim,
)
from graph_engine.params import ParamSpec
from graph_engine.weight_params import learning_params
from graph_engine.registry import (
    LayerSpec, Port, ShapeError, function_forward, no_field, pointwise_field, register,
)

CATEGORY = "Tensor ops"
#: the most output ports a Chunk or Split declares (its params say how many it has)
MAX_PIECES = 8
_PIECE_PORTS = tuple(Port(f"out{i}") for i in range(MAX_PIECES))
#: the bound of an index param
_BIG = 1 << 20


def _dim_param() -> ParamSpec:
    return int_param("dim", 0, "Dimension, without the batch dimension.", minimum=-8, maximum=7)


def _dims_param(name: str, default: list[int], help: str) -> ParamSpec:
    return ParamSpec(name, "shape", default, help, minimum=-8, maximum=7, min_length=1, max_length=6)


def _channel_field(params, in_shapes, fields):
    """Cutting or pooling the channels (dim 0) keeps the positions and so the field; along
    any other axis the positions change and no single field applies."""
    if sample_axis("", params["dim"], in_shapes[0]) == 0:
        return pointwise_field(params, in_shapes, fields)
    return None


# -- MatMul -------------------------------------------------------------------------------
def _matmul_shape(params, in_shapes):
    left, right = in_shapes
    if len(left) < 2 or len(right) < 2:
        raise ShapeError(f"MatMul needs matrices per sample (at least 2 dims each), got "
                         f"{shape_text(left)} and {shape_text(right)}; torch would take a vector's "
                         "batch axis for a matrix axis")
    if left[-1] != right[-2]:
        raise ShapeError(f"MatMul: {shape_text(left)} @ {shape_text(right)}: the inner sizes "
                         f"{left[-1]} and {right[-2]} differ")
    leading = broadcast("MatMul", [left[:-2], right[:-2]]) if len(left) > 2 or len(right) > 2 else ()
    return (*leading, left[-2], right[-1])


register(LayerSpec(
    type="MatMul", category=CATEGORY,
    help="Matrix product of two inputs per sample, (…, n, m) @ (…, m, p) -> (…, n, p): "
         "attention scores, bilinear forms.",
    inputs=(2, 2), shape=_matmul_shape, field=no_field,
    macs=lambda p, s, o: numel(o) * s[0][-1], forward=function_forward("torch.matmul"),
))


# -- axes: Permute, Transpose, Expand -------------------------------------------------------
def _permute_axes(params, shape) -> list[int]:
    axes = [sample_axis("Permute", d, shape) for d in params["dims"]]
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(f"Permute: dims {params['dims']} are not an order of the {len(shape)} "
                         f"dims of a {shape_text(shape)} input (each of 0 … {len(shape) - 1} once)")
    return axes


register(LayerSpec(
    type="Permute", category="Reshape",
    help="Reorders the dims of each sample, e.g. dims [1, 2, 0] turns (C, H, W) into (H, W, C).",
    params=(_dims_param("dims", [1, 0], "The new order of the sample's dims (without the batch)."),),
    shape=lambda p, s: tuple(s[0][a] for a in _permute_axes(p, s[0])), field=no_field,
    forward=lambda b, xs, p, s: b.method(xs[0], "permute", 0, *(torch_dim(d) for d in p["dims"])),
    input_dtype="any", output_dtype=None, key_params=("dims",),
))


def _transpose_shape(params, in_shapes):
    shape = list(in_shapes[0])
    a = sample_axis("Transpose", params["dim0"], in_shapes[0], "dim0")
    b = sample_axis("Transpose", params["dim1"], in_shapes[0], "dim1")
    shape[a], shape[b] = shape[b], shape[a]
    return tuple(shape)


register(LayerSpec(
    type="Transpose", category="Reshape",
    help="Swaps two dims of each sample, e.g. (T, F) -> (F, T).",
    params=(int_param("dim0", 0, "First dim, without the batch dimension.", minimum=-8, maximum=7),
            int_param("dim1", 1, "Second dim, without the batch dimension.", minimum=-8, maximum=7)),
    shape=_transpose_shape, field=no_field,
    forward=lambda b, xs, p, s: b.method(xs[0], "transpose", torch_dim(p["dim0"]), torch_dim(p["dim1"])),
    input_dtype="any", output_dtype=None, key_params=("dim0", "dim1"),
))


def _expand_shape(params, in_shapes):
    source, target = in_shapes[0], params["shape"]
    if len(target) != len(source):
        raise ShapeError(f"Expand: shape {target} has {len(target)} dims but the input "
                         f"{shape_text(source)} has {len(source)}")
    out = []
    for size, wanted in zip(source, target):
        if wanted == -1 or wanted == size:
            out.append(size)
        elif size == 1 and wanted >= 1:
            out.append(wanted)
        else:
            raise ShapeError(f"Expand: cannot expand {shape_text(source)} to {target}: only a size "
                             "1 grows (to any size ≥ 1), and -1 keeps a size")
    return tuple(out)


register(LayerSpec(
    type="Expand", category="Reshape",
    help="Repeats each size-1 dim of a sample to the given size without copying (-1 keeps a "
         "dim), e.g. (C, 1, 1) -> (C, H, W).",
    params=(ParamSpec("shape", "shape", [-1, 4], "The sample's new sizes; -1 keeps a size.",
                      minimum=-1, min_length=1, max_length=6),),
    shape=_expand_shape, field=no_field,
    forward=lambda b, xs, p, s: b.method(xs[0], "expand", -1, *p["shape"]),
    input_dtype="any", output_dtype=None, key_params=("shape",),
))


# -- indexing: Select, Slice -----------------------------------------------------------------
def _along(dim: int, part: int | slice) -> tuple:
    """The index that applies ``part`` to ``dim`` of a sample: ``[:, :, part]`` for dim 1,
    ``[..., part]`` for dim -1 (as a PyTorch user writes it)."""
    if dim >= 0:
        return (slice(None),) * (dim + 1) + (part,)
    return (Ellipsis, part) + (slice(None),) * (-dim - 1)


def _select_shape(params, in_shapes):
    source = in_shapes[0]
    if len(source) == 1:
        raise ShapeError(f"Select: a sample of {shape_text(source)} would become a single number; "
                         "use Slice (with end = start + 1) to keep one feature")
    axis = sample_axis("Select", params["dim"], source)
    if not -source[axis] <= params["index"] < source[axis]:
        raise ShapeError(f"Select: index {params['index']} is out of range for size {source[axis]} "
                         f"(dim {params['dim']} of {shape_text(source)})")
    return tuple(n for i, n in enumerate(source) if i != axis)


register(LayerSpec(
    type="Select", category=CATEGORY,
    help="Picks one index along a dim and drops that dim: dim 0, index 0 of (T, F) is x[:, 0], "
         "a class token's vector.",
    params=(_dim_param(), int_param("index", 0, "The index; negative counts from the end.",
                                    minimum=-_BIG, maximum=_BIG)),
    shape=_select_shape, field=no_field,
    forward=lambda b, xs, p, s: b.getitem(xs[0], _along(p["dim"], p["index"])),
    input_dtype="any", output_dtype=None, key_params=("dim", "index"),
))


def _slice_shape(params, in_shapes):
    source = in_shapes[0]
    axis = sample_axis("Slice", params["dim"], source)
    part = slice(params["start"], params["end"], params["step"])
    length = len(range(*part.indices(source[axis])))
    if length == 0:
        raise ShapeError(f"Slice: {params['start']}:{'' if params['end'] is None else params['end']} "
                         f"keeps nothing of size {source[axis]} (dim {params['dim']} of "
                         f"{shape_text(source)})")
    return tuple(length if i == axis else n for i, n in enumerate(source))


def _slice_forward(b, inputs, params, in_shapes):
    start, step = params["start"] or None, None if params["step"] == 1 else params["step"]
    return b.getitem(inputs[0], _along(params["dim"], slice(start, params["end"], step)))


register(LayerSpec(
    type="Slice", category=CATEGORY,
    help="Keeps start:end:step along a dim, as Python slicing does (x[:, 1:5]); end empty = "
         "to the end, negative = from the end.",
    params=(_dim_param(),
            int_param("start", 0, "First index kept; negative counts from the end.",
                      minimum=-_BIG, maximum=_BIG),
            ParamSpec("end", "optional_int_or_pair", None, "Index after the last kept; empty = "
                      "to the end.", minimum=-_BIG, maximum=_BIG, pair_allowed=False),
            int_param("step", 1, "Keep every step-th index.")),
    shape=_slice_shape, field=_channel_field, forward=_slice_forward,
    input_dtype="any", output_dtype=None, key_params=("dim", "start", "end"),
))


# -- pieces: Chunk, Split ---------------------------------------------------------------------
def _pieces(layer: str, sizes: Callable[[dict, int], list[int]]):
    """A shape rule giving one output per piece along ``dim``; ``sizes(params, n)`` says the
    pieces' lengths for an axis of length n."""

    def shape(params, in_shapes):
        source = in_shapes[0]
        axis = sample_axis(layer, params["dim"], source)
        lengths = sizes(params, source[axis])
        return [tuple(length if i == axis else n for i, n in enumerate(source)) for length in lengths]

    return shape


def _chunk_sizes(params, n: int) -> list[int]:
    chunks = params["chunks"]
    size = -(-n // chunks)
    count = -(-n // size)
    if count < chunks:
        raise ShapeError(f"Chunk: size {n} gives {count} chunks of {size}, not {chunks} (torch "
                         "returns fewer chunks than asked); use Split for uneven pieces")
    return [size] * (count - 1) + [n - size * (count - 1)]


def _split_sizes(params, n: int) -> list[int]:
    sections = params["split_size_or_sections"]
    if sum(sections) != n:
        raise ShapeError(f"Split: the sections {sections} add up to {sum(sections)}, but the dim "
                         f"has size {n}")
    return list(sections)


def _piece_forward(function: str, argument: str):
    def forward(b, inputs, params, in_shapes):
        whole = b.function(function, inputs[0], params[argument], dim=torch_dim(params["dim"]))
        return [b.getitem(whole, i) for i in range(_count(params))]

    return forward


def _count(params) -> int:
    """How many pieces (output ports) a Chunk or Split has."""
    return params["chunks"] if "chunks" in params else len(params["split_size_or_sections"])


for _layer, _function, _sizes, _argument, _help in (
    ("Chunk", "torch.chunk", _chunk_sizes,
     int_param("chunks", 2, "Number of pieces (output ports out0 …).", maximum=MAX_PIECES),
     "Cuts a dim into `chunks` pieces of equal size (the last may be smaller), one per output "
     "port: e.g. the halves of a gated unit."),
    ("Split", "torch.split", _split_sizes,
     ParamSpec("split_size_or_sections", "shape", [1, 1], "The pieces' sizes along dim, in "
               "order (they add up to its size); one output port each.", min_length=1,
               max_length=MAX_PIECES),
     "Cuts a dim into pieces of the given sizes, one per output port: e.g. query, key and "
     "value from one projection."),
):
    register(LayerSpec(
        type=_layer, category=CATEGORY, help=_help, params=(_argument, _dim_param()),
        shape=_pieces(_layer, _sizes), field=_channel_field,
        forward=_piece_forward(_function, _argument.name),
        output_ports=_PIECE_PORTS, output_count=_count,
        input_dtype="any", output_dtype=None, key_params=(_argument.name, "dim"),
    ))


# -- reductions: Mean, Sum ----------------------------------------------------------------------
def _reduced_axes(layer: str, params, shape) -> list[int]:
    axes = [sample_axis(layer, d, shape) for d in params["dim"]]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{layer}: dims {params['dim']} name one dim twice")
    if len(axes) == len(shape) and not params["keepdim"]:
        raise ShapeError(f"{layer}: reducing every dim of {shape_text(shape)} leaves a single "
                         "number per sample; set keepdim or keep a dim")
    return axes


def _reduce_shape(layer: str):
    def shape(params, in_shapes):
        source = in_shapes[0]
        axes = _reduced_axes(layer, params, source)
        if params["keepdim"]:
            return tuple(1 if i in axes else n for i, n in enumerate(source))
        return tuple(n for i, n in enumerate(source) if i not in axes)

    return shape


def _reduce_field(params, in_shapes, fields):
    """Pooling the channels (dim [0], kept) keeps the positions' field."""
    if params["keepdim"] and [sample_axis("", d, in_shapes[0]) for d in params["dim"]] == [0]:
        return pointwise_field(params, in_shapes, fields)
    return None


for _layer, _function, _dtype, _help in (
    ("Mean", "torch.mean", "float", "Averages each sample over the given dims, e.g. dims [1, 2] "
                                    "of (C, H, W) is global average pooling."),
    ("Sum", "torch.sum", "any", "Adds up each sample over the given dims."),
):
    register(LayerSpec(
        type=_layer, category=CATEGORY, help=_help,
        params=(_dims_param("dim", [0], "The dims to reduce, without the batch dimension."),
                bool_param("keepdim", False, "Keep each reduced dim with size 1.")),
        shape=_reduce_shape(_layer), field=_reduce_field,
        macs=lambda p, s, o: numel(s[0]),
        forward=function_forward(_function, lambda p, s: {
            "dim": tuple(torch_dim(d) for d in p["dim"]), "keepdim": p["keepdim"]}),
        input_dtype=_dtype, output_dtype="float" if _dtype == "float" else None,
        key_params=("dim", "keepdim"),
    ))


# -- Parameter ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterCall:
    """A learned tensor of shape (1, *shape), as PyTorch code holds a class token or a
    positional embedding: ``nn.Parameter(torch.zeros(1, 1, 768))``. Builds the
    ``nn.Parameter`` (the node's attribute, so its ``state_dict`` key is the node id) and
    prints as that code."""

    shape: tuple[int, ...]
    init: str
    std: float

    def build(self):
        import torch
        from torch import nn

        size = (1, *self.shape)
        if self.init == "zeros":
            return nn.Parameter(torch.zeros(size))
        if self.init == "normal":
            return nn.Parameter(torch.empty(size).normal_(std=self.std))
        return nn.Parameter(torch.rand(size))

    def code(self) -> str:
        from graph_engine.source_text import py_literal

        size = ", ".join(py_literal(n) for n in (1, *self.shape))
        tensor = {"zeros": f"torch.zeros({size})", "uniform": f"torch.rand({size})",
                  "normal": f"torch.empty({size}).normal_(std={py_literal(self.std)})"}[self.init]
        return f"nn.Parameter({tensor})"


register(LayerSpec(
    type="Parameter", category=CATEGORY,
    help="A learned tensor of the given sample shape: a class token or a positional embedding. "
         "It is stored as (1, *shape), as PyTorch code holds one; its input port only gives the "
         "batch size to expand it to (connect the value it is added to or joined with).",
    params=(ParamSpec("shape", "shape", [1, 8], "The tensor's shape, without the batch dimension.",
                      min_length=1, max_length=6),
            ParamSpec("init", "choice", "zeros", "Initial values: zeros, normal(0, std) or "
                      "uniform on [0, 1).", choices=("zeros", "normal", "uniform")),
            float_param("std", 0.02, "Standard deviation of the normal init.", minimum=0.0,
                        maximum=100.0), *learning_params()),
    input_ports=(Port("batch"),),
    shape=lambda p, s: tuple(p["shape"]), field=no_field,
    param_count=lambda p, s, o: numel(p["shape"]),
    module=lambda p, s: ParameterCall(tuple(p["shape"]), p["init"], p["std"]),
    forward=lambda b, xs, p, s: b.parameter(xs[0], len(p["shape"])),
    input_dtype="any", key_params=("shape", "init"),
))

