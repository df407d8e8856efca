"""Recurrent layers: RNN, LSTM, GRU (batch-first; (T, F) in)."""

from __future__ import annotations

from graph_engine.layers._common import (
    bool_param, float_param, int_param, numel, shape_text, torch_kwargs,
)
from graph_engine.params import ParamSpec
from graph_engine.registry import Fix, LayerSpec, ShapeError, call, no_field, register

#: weight blocks per cell: the RNN has one, the GRU three gates, the LSTM four.
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _params(layer: str) -> tuple[ParamSpec, ...]:
    specs = [
        int_param("hidden_size", 64, "Units in the hidden state."),
        int_param("num_layers", 1, "Stacked recurrent layers.", maximum=16),
        bool_param("bidirectional", False, "Also read the sequence backwards; output doubles."),
        float_param("dropout", 0.0, "Dropout between stacked layers (needs num_layers > 1).",
                    minimum=0.0, maximum=0.99),
        bool_param("return_sequences", True, "Output every step (T, H·D), or only the last (H·D)."),
        bool_param("bias", True, "Learn bias vectors."),
    ]
    if layer == "RNN":
        specs.append(ParamSpec("nonlinearity", "choice", "tanh", "Cell activation.",
                               choices=("tanh", "relu")))
    return tuple(specs)


def _directions(params) -> int:
    return 2 if params["bidirectional"] else 1


def _shape_rule(layer: str):
    def shape(params, in_shapes):
        (source,) = in_shapes
        if len(source) != 2:
            fix = None
            if len(source) == 3:
                fix = Fix(label=f"Insert a Reshape to {source[0]}×{numel(source[1:])}",
                          layer_type="Reshape", params={"shape": [source[0], numel(source[1:])]})
            elif len(source) == 1:
                fix = Fix(label=f"Insert a Reshape to {source[0]}×1", layer_type="Reshape",
                          params={"shape": [source[0], 1]})
            raise ShapeError(f"{layer} needs a (T, F) sequence input, got {shape_text(source)}", fix)
        width = params["hidden_size"] * _directions(params)
        return (source[0], width) if params["return_sequences"] else (width,)

    return shape


def _weights_per_step(layer: str, params, features: int) -> int:
    """Multiply-accumulates of one time step through every layer and direction."""
    gates, hidden, dirs = GATES[layer], params["hidden_size"], _directions(params)
    total = 0
    for index in range(params["num_layers"]):
        width = features if index == 0 else hidden * dirs
        total += dirs * gates * hidden * (width + hidden)
    return total


def _param_count(layer: str):
    def count(params, in_shapes, out_shape):
        biases = (2 * GATES[layer] * params["hidden_size"] * _directions(params) * params["num_layers"]
                  if params["bias"] else 0)
        return _weights_per_step(layer, params, in_shapes[0][1]) + biases

    return count


def _macs(layer: str):
    def count(params, in_shapes, out_shape):
        return in_shapes[0][0] * _weights_per_step(layer, params, in_shapes[0][1])

    return count


def _module(layer: str):
    def module(params, in_shapes):
        defaults = {"num_layers": 1, "bias": True, "dropout": 0.0, "bidirectional": False}
        if layer == "RNN":
            defaults["nonlinearity"] = "tanh"
        return call(layer, in_shapes[0][1], params["hidden_size"], batch_first=True,
                    **torch_kwargs(params, defaults))

    return module


def _forward(layer: str):
    def forward(b, inputs, params, in_shapes):
        result = b.module(*inputs)
        if params["return_sequences"]:
            return b.getitem(result, 0)
        final = b.getitem(result, 1)
        if layer == "LSTM":
            final = b.getitem(final, 0)
        if not params["bidirectional"]:
            return b.getitem(final, -1)
        return b.cat([b.getitem(final, -2), b.getitem(final, -1)], 1)

    return forward


def _warnings(params, in_shapes):
    if params["dropout"] > 0 and params["num_layers"] == 1:
        return ["dropout acts only between stacked layers: it has no effect with num_layers = 1"]
    return []


for _layer, _help in (
    ("RNN", "Elman recurrent layer: h_t = tanh(W x_t + U h_(t-1) + b)."),
    ("LSTM", "Long short-term memory: gated cell state that carries information across long spans."),
    ("GRU", "Gated recurrent unit: an LSTM-like cell with two gates and no separate cell state."),
):
    register(LayerSpec(
        type=_layer, category="Recurrent", help=_help, params=_params(_layer),
        shape=_shape_rule(_layer), param_count=_param_count(_layer), macs=_macs(_layer),
        field=no_field, module=_module(_layer), forward=_forward(_layer), warnings=_warnings,
        key_params=("hidden_size", "num_layers", "bidirectional"),
    ))
