"""Pooling: MaxPool1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d."""

from __future__ import annotations

import math

from graph_engine.layers._common import bool_param, check_window, require_rank, torch_kwargs, window_out
from graph_engine.params import ParamSpec, pair
from graph_engine.registry import LayerSpec, ShapeError, function_forward, register, window_field


#: torch's defaults of the pooling functions' keyword arguments, per layer (readable code)
_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False}
_AVG_DEFAULTS = {**_DEFAULTS, "count_include_pad": True}


def _pool_params(spatial: int, average: bool) -> tuple[ParamSpec, ...]:
    two = spatial == 2
    kind = "int_or_pair" if two else "int"
    specs = (
        ParamSpec("kernel_size", kind, 2, "Window size.", minimum=1, maximum=1024),
        ParamSpec("stride", "optional_int_or_pair", None, "Step between windows; empty = kernel_size.",
                  minimum=1, maximum=1024, pair_allowed=two),
        ParamSpec("padding", kind, 0, "Padding on each side (at most half the window).",
                  minimum=0, maximum=1024),
        bool_param("ceil_mode", False, "Round the output size up: a last, partial window "
                                       "covers the rest of the input."),
    )
    if average:
        specs += (bool_param("count_include_pad", True, "Count the zero padding in each "
                                                        "window's average."),)
    return specs


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
        outs = tuple(window_out(n, k, s, p, d, params["ceil_mode"]) for n, (k, s, p, d) in zip(sizes, axes))
        if not params["ceil_mode"] or min(outs) < 1:
            # with ceil_mode a window may hang over the input's end, as long as it starts in it
            check_window(layer, sizes, [a[0] for a in axes], [a[2] for a in axes], [1] * spatial)
        return (source[0], *outs)

    return shape


def _pool_arguments(defaults: dict):
    return lambda params, in_shapes: {"kernel_size": params["kernel_size"],
                                      **torch_kwargs(params, defaults)}


for _layer, _spatial, _function, _help in (
    ("MaxPool1d", 1, "max_pool1d", "Max over sliding windows of (C, L)."),
    ("MaxPool2d", 2, "max_pool2d", "Max over sliding windows of (C, H, W): keeps the strongest response."),
    ("AvgPool2d", 2, "avg_pool2d", "Average over sliding windows of (C, H, W)."),
):
    _average = _layer.startswith("Avg")
    register(LayerSpec(
        type=_layer, category="Pooling", help=_help, params=_pool_params(_spatial, _average),
        shape=_pool_rule(_layer, _spatial),
        field=window_field(lambda p, s, n=_spatial: _axes(p, n)),
        forward=function_forward(f"torch.nn.functional.{_function}",
                                 _pool_arguments(_AVG_DEFAULTS if _average else _DEFAULTS)),
        key_params=("kernel_size", "stride"),
    ))


def _adaptive_windows(params, in_shapes):
    """Adaptive pooling's windows: exact when the input divides evenly, close otherwise."""
    outs = pair(params["output_size"])
    return [(math.ceil(n / o), max(1, n // o), 0, 1) for n, o in zip(in_shapes[0][1:], outs)]


def _adaptive_shape(layer: str):
    def shape(params, in_shapes):
        (source,) = in_shapes
        require_rank(layer, source, 3)
        return (source[0], *pair(params["output_size"]))

    return shape


for _layer, _function, _help in (
    ("AdaptiveAvgPool2d", "adaptive_avg_pool2d",
     "Average-pool (C, H, W) to a fixed output size (1 = global average pooling)."),
    ("AdaptiveMaxPool2d", "adaptive_max_pool2d",
     "Max-pool (C, H, W) to a fixed output size (1 = global max pooling)."),
):
    register(LayerSpec(
        type=_layer, category="Pooling", help=_help,
        params=(ParamSpec("output_size", "int_or_pair", 1, "Output height and width.",
                          minimum=1, maximum=4096),),
        shape=_adaptive_shape(_layer), field=window_field(_adaptive_windows),
        forward=function_forward(f"torch.nn.functional.{_function}",
                                 lambda p, s: {"output_size": p["output_size"]}),
        key_params=("output_size",),
    ))
