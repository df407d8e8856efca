"""Convolutions: Conv1d, Conv2d, ConvTranspose2d (torch.nn semantics, batch-first)."""

from __future__ import annotations

from graph_engine.layers._common import (
    bool_param, check_window, int_param, torch_kwargs, numel, require_rank, shape_text,
    window_out,
)
from graph_engine.params import ParamSpec, pair
from graph_engine.weight_params import init_params
from graph_engine.registry import (
    LayerSpec, ShapeError, call, register, upsampling_field, window_field,
)


def _conv_params(spatial: int) -> tuple[ParamSpec, ...]:
    two = spatial == 2
    kind = "int_or_pair" if two else "int"
    return (
        int_param("out_channels", 16, "Number of filters (output channels)."),
        ParamSpec("kernel_size", kind, 3, "Filter size" + (" (int or [h, w])." if two else "."),
                  minimum=1, maximum=1024),
        ParamSpec("stride", kind, 1, "Step between filter positions.", minimum=1, maximum=1024),
        ParamSpec("padding", "padding", 0, 'Zeros added on each side, or "same" (stride 1 only).',
                  minimum=0, maximum=1024, pair_allowed=two),
        ParamSpec("dilation", kind, 1, "Spacing between filter taps (à trous).",
                  minimum=1, maximum=1024),
        int_param("groups", 1, "Split channels into groups (in and out must divide)."),
        bool_param("bias", True, "Learn an additive bias per filter."),
    )


def _axes(params: dict, spatial: int, name: str) -> tuple[int, ...]:
    return pair(params[name])[:spatial] if spatial == 2 else (int(params[name]),)


def _paddings(params: dict, spatial: int) -> tuple[float, ...]:
    """Numeric padding per axis; "same" keeps the size, as torch does (total k_eff - 1)."""
    if params["padding"] == "same":
        ks, ds = _axes(params, spatial, "kernel_size"), _axes(params, spatial, "dilation")
        return tuple(d * (k - 1) / 2 for k, d in zip(ks, ds))
    return tuple(float(p) for p in _axes(params, spatial, "padding"))


def _conv_rule(layer: str, spatial: int):
    def shape(params, in_shapes):
        (source,) = in_shapes
        if spatial == 2 and len(source) == 2:
            raise ShapeError(f"{layer} needs a (C, H, W) input, got {shape_text(source)}; "
                             "use Conv1d for (C, L)")
        require_rank(layer, source, spatial + 1)
        channels, sizes = source[0], source[1:]
        groups, out_channels = params["groups"], params["out_channels"]
        if channels % groups or out_channels % groups:
            raise ShapeError(f"{layer}: groups={groups} must divide both the input channels "
                             f"({channels}) and out_channels ({out_channels})")
        kernels, strides = _axes(params, spatial, "kernel_size"), _axes(params, spatial, "stride")
        dilations = _axes(params, spatial, "dilation")
        if params["padding"] == "same":
            if any(s != 1 for s in strides):
                raise ShapeError(f'{layer}: padding "same" needs stride 1, got stride '
                                 f"{params['stride']}; give a number for padding")
            return (out_channels, *sizes)
        paddings = _axes(params, spatial, "padding")
        check_window(layer, sizes, kernels, paddings, dilations)
        outs = tuple(window_out(n, k, s, p, d)
                     for n, k, s, p, d in zip(sizes, kernels, strides, paddings, dilations))
        return (out_channels, *outs)

    return shape


def _conv_warnings(params, in_shapes):
    """torch pads an even dilated kernel unevenly for "same" and warns that it is slower."""
    if params["padding"] != "same":
        return []
    spatial = len(in_shapes[0]) - 1
    kernels, dilations = _axes(params, spatial, "kernel_size"), _axes(params, spatial, "dilation")
    if any(d * (k - 1) % 2 for k, d in zip(kernels, dilations)):
        return ['padding "same" with an even kernel pads one side more than the other (and runs '
                "slower); an odd kernel keeps the output centred"]
    return []


def _conv_param_count(params, in_shapes, out_shape):
    kernel = numel(_axes(params, len(in_shapes[0]) - 1, "kernel_size"))
    per_filter = in_shapes[0][0] // params["groups"] * kernel
    return params["out_channels"] * per_filter + (params["out_channels"] if params["bias"] else 0)


def _conv_macs(params, in_shapes, out_shape):
    kernel = numel(_axes(params, len(in_shapes[0]) - 1, "kernel_size"))
    return numel(out_shape) * (in_shapes[0][0] // params["groups"]) * kernel


def _conv_windows(spatial: int):
    def windows(params, in_shapes):
        return list(zip(_axes(params, spatial, "kernel_size"), _axes(params, spatial, "stride"),
                        _paddings(params, spatial), _axes(params, spatial, "dilation")))

    return windows


def _conv_module(cls: str):
    def module(params, in_shapes):
        extra = torch_kwargs(params, {"stride": 1, "padding": 0, "dilation": 1, "groups": 1,
                                      "bias": True})
        return call(cls, in_shapes[0][0], params["out_channels"],
                    kernel_size=params["kernel_size"], **extra)

    return module


for _layer, _spatial, _help in (
    ("Conv1d", 1, "1-d convolution over (C, L): filters slide along the sequence."),
    ("Conv2d", 2, "2-d convolution over (C, H, W): learned filters slide over the image."),
):
    _specs = _conv_params(_spatial)
    register(LayerSpec(
        type=_layer, category="Convolution", help=_help, params=(*_specs, *init_params()),
        shape=_conv_rule(_layer, _spatial), param_count=_conv_param_count, macs=_conv_macs,
        field=window_field(_conv_windows(_spatial)), module=_conv_module(_layer),
        warnings=_conv_warnings,
        key_params=("out_channels", "kernel_size", "stride", "padding"),
    ))


_TRANSPOSE_PARAMS = (
    int_param("out_channels", 16, "Number of output channels."),
    ParamSpec("kernel_size", "int_or_pair", 2, "Filter size (int or [h, w]).", minimum=1, maximum=1024),
    ParamSpec("stride", "int_or_pair", 2, "Upsampling factor.", minimum=1, maximum=1024),
    ParamSpec("padding", "int_or_pair", 0, "Rows/columns removed from each side of the output.",
              minimum=0, maximum=1024),
    ParamSpec("output_padding", "int_or_pair", 0, "Extra rows/columns on one side (< stride).",
              minimum=0, maximum=1024),
    bool_param("bias", True, "Learn an additive bias per output channel."),
)


def _transpose_shape(params, in_shapes):
    (source,) = in_shapes
    require_rank("ConvTranspose2d", source, 3)
    ks, ss = pair(params["kernel_size"]), pair(params["stride"])
    ps, ops = pair(params["padding"]), pair(params["output_padding"])
    for op, s in zip(ops, ss):
        if op >= s:
            raise ShapeError(f"ConvTranspose2d: output_padding {params['output_padding']} must be "
                             f"smaller than stride {params['stride']}")
    outs = tuple((n - 1) * s - 2 * p + k + op for n, k, s, p, op in zip(source[1:], ks, ss, ps, ops))
    if min(outs) < 1:
        raise ShapeError(f"ConvTranspose2d: padding {params['padding']} leaves no output "
                         f"for input {shape_text(source)}")
    return (params["out_channels"], *outs)


def _transpose_params(params, in_shapes, out_shape):
    weights = in_shapes[0][0] * params["out_channels"] * numel(pair(params["kernel_size"]))
    return weights + (params["out_channels"] if params["bias"] else 0)


def _transpose_macs(params, in_shapes, out_shape):
    return numel(in_shapes[0]) * params["out_channels"] * numel(pair(params["kernel_size"]))


register(LayerSpec(
    type="ConvTranspose2d", category="Convolution",
    help="Transposed ('de-') convolution: learned upsampling of (C, H, W).",
    params=(*_TRANSPOSE_PARAMS, *init_params()), shape=_transpose_shape, param_count=_transpose_params,
    macs=_transpose_macs,
    field=upsampling_field(lambda p, s: list(zip(pair(p["kernel_size"]), pair(p["stride"])))),
    module=lambda params, in_shapes: call(
        "ConvTranspose2d", in_shapes[0][0], params["out_channels"], kernel_size=params["kernel_size"],
        **torch_kwargs(params, {"stride": 1, "padding": 0, "output_padding": 0, "bias": True})),
    key_params=("out_channels", "kernel_size", "stride"),
))
