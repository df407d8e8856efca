"""Input and Output: the graph's boundary nodes."""

from __future__ import annotations

from graph_engine.params import ParamSpec
from graph_engine.registry import AxisField, LayerSpec, identity_forward, register


def _input_shape(params, in_shapes):
    return tuple(params["shape"])


def _input_field(params, in_shapes, fields):
    """Each spatial axis (all but the first) starts as a field of one pixel."""
    if params["dtype"] == "int64":
        return None
    return tuple(AxisField(size=1.0, jump=1.0, start=0.5) for _ in params["shape"][1:]) or None


register(LayerSpec(
    type="Input", category="Input/Output",
    help="The network's input: one sample's shape, without the batch dimension.",
    params=(
        ParamSpec("shape", "shape", [1, 8, 8], "Sample shape without batch: (features), "
                  "(C, L) or (T, F), or (C, H, W).", min_length=1, max_length=4),
        ParamSpec("dtype", "choice", "float32", "float32 for images and features, int64 for "
                  "token indices (feed an Embedding).", choices=("float32", "int64")),
    ),
    inputs=(0, 0), shape=_input_shape, field=_input_field, forward=identity_forward,
    key_params=("shape",), role="input",
))

register(LayerSpec(
    type="Output", category="Input/Output",
    help="A network output: exactly one input, returned by the compiled model (several Outputs: a tuple in file order).",
    inputs=(1, 1), has_output=False, shape=lambda params, in_shapes: in_shapes[0],
    forward=identity_forward, input_dtype="any", output_dtype=None, role="output",
))

register(LayerSpec(
    type="BlockPort", category="Input/Output",
    help="Where a value crosses a block's boundary (an Input or Output of its definition) once "
         "the block is expanded: passes it on unchanged. Not placed by hand.",
    inputs=(1, 1), shape=lambda params, in_shapes: in_shapes[0], forward=identity_forward,
    input_dtype="any", output_dtype=None, internal=True,
))
