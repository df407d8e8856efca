"""Pooling: MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d."""

from __future__ import annotations

import math

from graph_engine.layers._common import check_window, require_rank, torch_kwargs, window_out
from graph_engine.params import ParamSpec, pair
from graph_engine.registry import LayerSpec, ShapeError, function_forward, register, window_field


def _pool_params(spatial: int) -> tuple[ParamSpec, ...]:
    two = spatial == 2
    kind = "int_or_pair" if two else "int"
    return (
        ParamSpec("kernel_size", kind, 2, "Window size.", minimum=1, maximum=1024),
        ParamSpec("stride", "optional_int_or_pair", None, "Step between windows; empty = kernel_size.",
                  minimum=1, maximum=1024, pair_allowed=two),
        ParamSpec("padding", kind, 0, "Padding on each side (at most half the window).",
                  minimum=0, maximum=1024),
    )


def _axes(params: dict, spatial: int) -> list[tuple[int, int, int, int]]:
    """(kernel, stride, padding, dilation) per axis."""
    norm = pair if spatial == 2 else (lambda v: (int(v[0]) if isinstance(v, list) else int(v),))
    kernels = norm(params["kernel_size"])
    strides = kernels if params["stride"] is None else norm(params["stride"])
    return list(zip(kernels, strides, norm(params["padding"]), (1,) * spatial))[:spatial]


def _pool_rule(layer: str, spatial: int):
    def shape(params, in_shapes):
        (source,) = in_shapes
        require_rank(layer, source, spatial + 1)
        axes = _axes(params, spatial)
        for k, _, p, _ in axes:
            if 2 * p > k:
                raise ShapeError(f"{layer}: padding {params['padding']} must be at most half the "
                                 f"kernel size {params['kernel_size']}")
        sizes = source[1:]
        check_window(layer, sizes, [a[0] for a in axes], [a[2] for a in axes], [1] * spatial)
        return (source[0], *(window_out(n, k, s, p, d) for n, (k, s, p, d) in zip(sizes, axes)))

    return shape


def _pool_arguments(params, in_shapes):
    return {"kernel_size": params["kernel_size"],
            **torch_kwargs(params, {"stride": None, "padding": 0})}


for _layer, _spatial, _function, _help in (
    ("MaxPool1d", 1, "max_pool1d", "Max over sliding windows of (C, L)."),
    ("MaxPool2d", 2, "max_pool2d", "Max over sliding windows of (C, H, W): keeps the strongest response."),
    ("AvgPool2d", 2, "avg_pool2d", "Average over sliding windows of (C, H, W)."),
):
    register(LayerSpec(
        type=_layer, category="Pooling", help=_help, params=_pool_params(_spatial),
        shape=_pool_rule(_layer, _spatial),
        field=window_field(lambda p, s, n=_spatial: _axes(p, n)),
        forward=function_forward(f"torch.nn.functional.{_function}", _pool_arguments),
        key_params=("kernel_size", "stride"),
    ))


def _adaptive_windows(params, in_shapes):
    """Adaptive pooling's windows: exact when the input divides evenly, close otherwise."""
    outs = pair(params["output_size"])
    return [(math.ceil(n / o), max(1, n // o), 0, 1) for n, o in zip(in_shapes[0][1:], outs)]


def _adaptive_shape(params, in_shapes):
    (source,) = in_shapes
    require_rank("AdaptiveAvgPool2d", source, 3)
    return (source[0], *pair(params["output_size"]))


register(LayerSpec(
    type="AdaptiveAvgPool2d", category="Pooling",
    help="Average-pool (C, H, W) to a fixed output size (1 = global average pooling).",
    params=(ParamSpec("output_size", "int_or_pair", 1, "Output height and width.",
                      minimum=1, maximum=4096),),
    shape=_adaptive_shape, field=window_field(_adaptive_windows),
    forward=function_forward("torch.nn.functional.adaptive_avg_pool2d",
                             lambda p, s: {"output_size": p["output_size"]}),
    key_params=("output_size",),
))
