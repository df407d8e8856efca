"""Normalization and regularization: BatchNorm1d/2d, LayerNorm, Dropout, Dropout2d."""

from __future__ import annotations

from graph_engine.layers._common import bool_param, float_param, numel, shape_text, torch_kwargs
from graph_engine.registry import LayerSpec, ShapeError, call, register

_BN_PARAMS = (
    float_param("eps", 1e-5, "Added to the variance for stability.", minimum=1e-12, maximum=1.0),
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
        type=_layer, category="Normalization & regularization", help=_help, params=_BN_PARAMS,
        shape=_bn_shape(_layer, _ranks, _wanted),
        param_count=lambda p, s, o: 2 * s[0][0] if p["affine"] else 0,
        macs=lambda p, s, o: numel(s[0]),
        module=lambda p, s, _c=_layer: call(_c, s[0][0], **torch_kwargs(p, _BN_DEFAULTS)),
    ))

register(LayerSpec(
    type="LayerNorm", category="Normalization & regularization",
    help="Normalises each sample over its last dimension (independent of the batch).",
    params=(float_param("eps", 1e-5, "Added to the variance for stability.", minimum=1e-12, maximum=1.0),
            bool_param("elementwise_affine", True, "Learn a scale and shift per feature.")),
    shape=lambda p, s: s[0],
    param_count=lambda p, s, o: 2 * s[0][-1] if p["elementwise_affine"] else 0,
    macs=lambda p, s, o: numel(s[0]),
    module=lambda p, s: call("LayerNorm", s[0][-1],
                             **torch_kwargs(p, {"eps": 1e-5, "elementwise_affine": True})),
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
