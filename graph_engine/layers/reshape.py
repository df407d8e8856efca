"""Reshaping: Flatten, Reshape, Upsample."""

from __future__ import annotations

from graph_engine.layers._common import int_param, numel, shape_text
from graph_engine.params import ParamSpec
from graph_engine.registry import (
    LayerSpec, ShapeError, function_forward, no_field, register, upsampling_field,
)

register(LayerSpec(
    type="Flatten", category="Reshape",
    help="Flattens each sample to a vector, e.g. 16×4×4 -> 256 (before a Linear).",
    shape=lambda p, s: (numel(s[0]),), field=no_field,
    forward=function_forward("torch.flatten", lambda p, s: {"start_dim": 1}),
    input_dtype="any", output_dtype=None,
))


def _reshape_shape(params, in_shapes):
    target = tuple(params["shape"])
    if numel(target) != numel(in_shapes[0]):
        raise ShapeError(f"Reshape: {shape_text(in_shapes[0])} has {numel(in_shapes[0])} elements, "
                         f"{shape_text(target)} has {numel(target)}")
    return target


register(LayerSpec(
    type="Reshape", category="Reshape",
    help="Gives each sample a new shape with the same number of elements.",
    params=(ParamSpec("shape", "shape", [1, 8, 8], "New sample shape, without the batch dimension.",
                      min_length=1, max_length=6),),
    shape=_reshape_shape, field=no_field,
    forward=lambda b, xs, p, s: b.method(xs[0], "reshape", -1, *p["shape"]),
    input_dtype="any", output_dtype=None, key_params=("shape",),
))


def _upsample_shape(params, in_shapes):
    source, scale = in_shapes[0], params["scale_factor"]
    ranks = (3,) if params["mode"] == "bilinear" else (2, 3)
    if len(source) not in ranks:
        wanted = "(C, H, W)" if params["mode"] == "bilinear" else "(C, L) or (C, H, W)"
        raise ShapeError(f"Upsample ({params['mode']}) needs a {wanted} input, got {shape_text(source)}")
    return (source[0], *(n * scale for n in source[1:]))


def _upsample_taps(params, in_shapes):
    """Nearest copies one input; bilinear blends two neighbours."""
    scale = params["scale_factor"]
    kernel = scale if params["mode"] == "nearest" else 2 * scale
    return [(kernel, scale)] * (len(in_shapes[0]) - 1)


register(LayerSpec(
    type="Upsample", category="Reshape",
    help="Enlarges (C, H, W) or (C, L) by an integer factor (nearest or bilinear), as in decoders.",
    params=(int_param("scale_factor", 2, "Integer enlargement factor.", maximum=64),
            ParamSpec("mode", "choice", "nearest", "Interpolation.", choices=("nearest", "bilinear"))),
    shape=_upsample_shape, field=upsampling_field(_upsample_taps),
    forward=function_forward("torch.nn.functional.interpolate",
                             lambda p, s: {"scale_factor": p["scale_factor"], "mode": p["mode"]}),
    key_params=("scale_factor", "mode"),
))
