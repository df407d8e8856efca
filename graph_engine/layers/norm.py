"""Normalization and regularization: BatchNorm1d/2d, GroupNorm, InstanceNorm2d, LayerNorm
(over the last axis or the channels), Dropout, Dropout2d, StochasticDepth."""

from __future__ import annotations

from graph_engine.layers._common import (
    bool_param, float_param, int_param, numel, require_rank, shape_text, torch_kwargs,
)
from graph_engine.params import ParamSpec
from graph_engine.weight_params import learning_params
from graph_engine.registry import LayerSpec, ShapeError, call, register

_EPS = float_param("eps", 1e-5, "Added to the variance for stability.", minimum=1e-12, maximum=1.0)
_BN_PARAMS = (
    _EPS,
    float_param("momentum", 0.1, "Weight of the newest batch in the running statistics.",
                minimum=0.0, maximum=1.0),
    bool_param("affine", True, "Learn a scale and shift per channel."),
)
_BN_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": True}


def _bn_shape(layer: str, ranks: tuple[int, ...], wanted: str):
    def shape(params, in_shapes):
        if len(in_shapes[0]) not in ranks:
            raise ShapeError(f"{layer} needs a {wanted} input, got {shape_text(in_shapes[0])}")
        return in_shapes[0]

    return shape


for _layer, _ranks, _wanted, _help in (
    ("BatchNorm1d", (1, 2), "(features) or (C, L)", "Normalises each feature/channel over the batch."),
    ("BatchNorm2d", (3,), "(C, H, W)", "Normalises each channel of (C, H, W) over the batch and positions."),
):
    register(LayerSpec(
        type=_layer, category="Normalization & regularization", help=_help, params=(*_BN_PARAMS, *learning_params()),
        shape=_bn_shape(_layer, _ranks, _wanted),
        param_count=lambda p, s, o: 2 * s[0][0] if p["affine"] else 0,
        macs=lambda p, s, o: numel(s[0]),
        module=lambda p, s, _c=_layer: call(_c, s[0][0], **torch_kwargs(p, _BN_DEFAULTS)),
    ))


def _group_norm_shape(params, in_shapes):
    channels, groups = in_shapes[0][0], params["num_groups"]
    if channels % groups:
        raise ShapeError(f"GroupNorm: {channels} channels do not split into {groups} groups "
                         "(num_groups must divide the channels)")
    return in_shapes[0]


register(LayerSpec(
    type="GroupNorm", category="Normalization & regularization",
    help="Normalises each sample over groups of channels (and all positions): independent of "
         "the batch size, for small batches.",
    params=(int_param("num_groups", 2, "Channel groups normalised separately (divides the channels)."),
            _EPS, bool_param("affine", True, "Learn a scale and shift per channel."), *learning_params()),
    shape=_group_norm_shape,
    param_count=lambda p, s, o: 2 * s[0][0] if p["affine"] else 0,
    macs=lambda p, s, o: numel(s[0]),
    module=lambda p, s: call("GroupNorm", p["num_groups"], s[0][0],
                             **torch_kwargs(p, {"eps": 1e-5, "affine": True})),
    key_params=("num_groups",),
))


def _instance_norm_shape(params, in_shapes):
    (source,) = in_shapes
    require_rank("InstanceNorm2d", source, 3)
    if source[1] * source[2] == 1:
        raise ShapeError(f"InstanceNorm2d: a {shape_text(source)} input has one position per "
                         "channel, nothing to normalise over (torch refuses it while training)")
    return source


register(LayerSpec(
    type="InstanceNorm2d", category="Normalization & regularization",
    help="Normalises each channel of each sample over its positions (style transfer, GANs).",
    params=(_EPS,
            float_param("momentum", 0.1, "Weight of the newest batch in the running statistics.",
                        minimum=0.0, maximum=1.0),
            bool_param("affine", False, "Learn a scale and shift per channel."),
            bool_param("track_running_stats", False,
                       "Keep running statistics and use them at evaluation."), *learning_params()),
    shape=_instance_norm_shape,
    param_count=lambda p, s, o: 2 * s[0][0] if p["affine"] else 0,
    macs=lambda p, s, o: numel(s[0]),
    module=lambda p, s: call("InstanceNorm2d", s[0][0], **torch_kwargs(
        p, {"eps": 1e-5, "momentum": 0.1, "affine": False, "track_running_stats": False})),
))


def _normalized(params, in_shapes) -> int:
    """The size LayerNorm normalises over: the channels (axis 0) or the last axis."""
    return in_shapes[0][0] if params["channels_first"] else in_shapes[0][-1]


def _layer_norm_forward(b, inputs, params, in_shapes):
    """Channels first: move the channels last, normalise, move them back (ConvNeXt's
    LayerNorm2d; the weights are nn.LayerNorm's)."""
    if not params["channels_first"] or len(in_shapes[0]) == 1:
        return b.module(inputs[0])
    return b.method(b.module(b.method(inputs[0], "movedim", 1, -1)), "movedim", -1, 1)


register(LayerSpec(
    type="LayerNorm", category="Normalization & regularization",
    help="Normalises each sample over its last dimension, or with channels_first over the "
         "channels of (C, H, W) at each position (independent of the batch).",
    params=(_EPS, bool_param("elementwise_affine", True, "Learn a scale and shift per feature."),
            bool_param("channels_first", False, "Normalise over dim 0 (the channels) instead of "
                                                "the last dim."), *learning_params()),
    shape=lambda p, s: s[0],
    param_count=lambda p, s, o: 2 * _normalized(p, s) if p["elementwise_affine"] else 0,
    macs=lambda p, s, o: numel(s[0]),
    module=lambda p, s: call("LayerNorm", _normalized(p, s),
                             **torch_kwargs(p, {"eps": 1e-5, "elementwise_affine": True})),
    forward=_layer_norm_forward,
))

_P = float_param("p", 0.5, "Probability of zeroing an element during training.", minimum=0.0, maximum=1.0)

register(LayerSpec(
    type="Dropout", category="Normalization & regularization",
    help="Zeroes random elements while training (scaling the rest); identity at evaluation.",
    params=(_P,), shape=lambda p, s: s[0], module=lambda p, s: call("Dropout", p["p"]),
    key_params=("p",),
))

register(LayerSpec(
    type="Dropout2d", category="Normalization & regularization",
    help="Zeroes whole random channels of (C, H, W) while training.",
    params=(_P,), shape=_bn_shape("Dropout2d", (3,), "(C, H, W)"),
    module=lambda p, s: call("Dropout2d", p["p"]), key_params=("p",),
))


def _stochastic_depth_forward(b, inputs, params, in_shapes):
    """torchvision's stochastic depth without torchvision: ``Dropout1d`` drops whole
    channels, so each sample ("row") or the whole batch ("batch") is viewed as one channel:
    zeroed with probability p while training, else scaled by 1 / (1 - p); identity at
    evaluation."""
    size = numel(in_shapes[0])
    view = (-1, 1, size) if params["mode"] == "row" else (1, 1, -1)
    dropped = b.module(b.method(inputs[0], "reshape", *view))
    return b.method(dropped, "reshape", -1, *in_shapes[0])


register(LayerSpec(
    type="StochasticDepth", category="Normalization & regularization",
    help="Drops a block's branch while training (torchvision's stochastic_depth): row mode "
         "zeroes whole samples with probability p, batch mode the whole batch; the rest is "
         "scaled by 1 / (1 − p). Identity at evaluation.",
    params=(float_param("p", 0.1, "Probability of dropping the branch.", minimum=0.0, maximum=1.0),
            ParamSpec("mode", "choice", "row", "row: per sample; batch: for the whole batch at once.",
                      choices=("row", "batch"))),
    shape=lambda p, s: s[0], module=lambda p, s: call("Dropout1d", p["p"]),
    forward=_stochastic_depth_forward, key_params=("p", "mode"),
))
