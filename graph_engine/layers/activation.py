"""Activations: ReLU, ReLU6, LeakyReLU, ELU, Sigmoid, Hardsigmoid, Tanh, GELU, SiLU,
Hardswish, Softmax, Maxout and Identity."""

from __future__ import annotations

from graph_engine.layers._common import float_param, int_param, shape_text
from graph_engine.registry import LayerSpec, ShapeError, function_forward, identity_forward, register


def _same(params, in_shapes):
    return in_shapes[0]


for _layer, _function, _health, _help in (
    ("ReLU", "torch.relu", {"rectifier": True},
     "max(0, x): cheap, does not saturate for x > 0; units can die when always negative."),
    ("Sigmoid", "torch.sigmoid", {"saturates": (0.0, 1.0)},
     "1 / (1 + e^-x): squashes to (0, 1); saturates and can make gradients vanish."),
    ("Tanh", "torch.tanh", {"saturates": (-1.0, 1.0)},
     "Hyperbolic tangent: squashes to (-1, 1), zero-centred; saturates at both ends."),
    ("GELU", "torch.nn.functional.gelu", {},
     "Gaussian error linear unit: a smooth ReLU used by transformers."),
    ("ReLU6", "torch.nn.functional.relu6", {"rectifier": True},
     "min(max(0, x), 6): a ReLU capped at 6, as in MobileNetV2."),
    ("SiLU", "torch.nn.functional.silu", {},
     "x · sigmoid(x) (swish): a smooth, non-monotonic ReLU, as in EfficientNet."),
    ("Hardswish", "torch.nn.functional.hardswish", {},
     "x · ReLU6(x + 3) / 6: a cheap piecewise swish, as in MobileNetV3."),
    ("Hardsigmoid", "torch.nn.functional.hardsigmoid", {"saturates": (0.0, 1.0)},
     "ReLU6(x + 3) / 6: a cheap piecewise sigmoid in [0, 1] (MobileNetV3's gates)."),
):
    register(LayerSpec(type=_layer, category="Activation", help=_help, shape=_same,
                       forward=function_forward(_function), **_health))

register(LayerSpec(
    type="LeakyReLU", category="Activation",
    help="ReLU with a small slope for x < 0, so units never die completely.",
    params=(float_param("negative_slope", 0.01, "Slope for negative inputs.", minimum=0.0, maximum=1.0),),
    shape=_same,
    forward=function_forward("torch.nn.functional.leaky_relu",
                             lambda p, s: {"negative_slope": p["negative_slope"]}),
    key_params=("negative_slope",),
))

register(LayerSpec(
    type="ELU", category="Activation",
    help="x for x > 0, alpha · (e^x − 1) below: a smooth ReLU whose outputs can be negative.",
    params=(float_param("alpha", 1.0, "Value the output approaches for very negative inputs "
                                      "(times −1).", minimum=0.0, maximum=100.0),),
    shape=_same,
    forward=function_forward("torch.nn.functional.elu",
                             lambda p, s: {"alpha": p["alpha"]} if p["alpha"] != 1.0 else {}),
    key_params=("alpha",),
))

register(LayerSpec(
    type="Identity", category="Activation",
    help="Passes its input on unchanged (nn.Identity): a placeholder where a layer may go.",
    shape=_same, forward=identity_forward, input_dtype="any", output_dtype=None,
))


def _softmax_shape(params, in_shapes):
    rank, dim = len(in_shapes[0]), params["dim"]
    if not -rank <= dim < rank:
        raise ShapeError(f"Softmax: dim {dim} is out of range for a {shape_text(in_shapes[0])} input "
                         "(the batch dimension is not counted)")
    return in_shapes[0]


register(LayerSpec(
    type="Softmax", category="Activation",
    help="Normalises along dim into probabilities that sum to 1 (leave it out before a "
         "cross-entropy loss, which applies it itself).",
    params=(int_param("dim", 0, "Dimension to normalise, without the batch dimension.",
                      minimum=-8, maximum=7),),
    shape=_softmax_shape,
    forward=function_forward("torch.softmax",
                             lambda p, s: {"dim": p["dim"] + 1 if p["dim"] >= 0 else p["dim"]}),
    key_params=("dim",),
))


def _maxout_shape(params, in_shapes):
    source, pieces = in_shapes[0], params["pieces"]
    if source[0] % pieces:
        raise ShapeError(f"Maxout: {source[0]} channels do not split into groups of {pieces}")
    return (source[0] // pieces, *source[1:])


def _maxout_forward(b, inputs, params, in_shapes):
    """Max over consecutive groups of ``pieces`` channels (Goodfellow et al. 2013)."""
    channels, pieces = in_shapes[0][0], params["pieces"]
    grouped = b.method(inputs[0], "unflatten", 1, (channels // pieces, pieces))
    return b.method(grouped, "amax", 2)


register(LayerSpec(
    type="Maxout", category="Activation",
    help="Maximum over groups of `pieces` consecutive channels: a learned piecewise-linear "
         "activation (Goodfellow et al. 2013).",
    params=(int_param("pieces", 2, "Channels per group; the output has channels / pieces.",
                      minimum=2, maximum=64),),
    shape=_maxout_shape, forward=_maxout_forward, key_params=("pieces",),
))


def _sign_forward(b, inputs, params, in_shapes):
    """+1 where x ≥ 0, else −1; the gradient passes straight through (as if the unit were the
    identity), so SGD on the perceptron criterion over a Sign is Rosenblatt's update."""
    x = inputs[0]
    step = b.function("torch.where", b.method(x, "ge", 0.0), 1.0, -1.0)
    return b.add(x, b.method(b.add(step, b.method(x, "neg")), "detach"))  # x + (step − x) held constant


register(LayerSpec(
    type="Sign", category="Activation",
    help="Rosenblatt's threshold unit: +1 where x ≥ 0, else −1. Its gradient passes straight "
         "through, so with the perceptron task and optimizer (SGD, rate η) each misclassified "
         "point x with target t moves the weights by w ← w + η·t·x (and the bias by η·t) and a "
         "correctly classified one leaves them alone.",
    shape=_same, forward=_sign_forward,
))
