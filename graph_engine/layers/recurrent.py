"""Recurrent layers: RNN, LSTM, GRU (batch-first; (T, F) in).

State ports: input 1 is the initial hidden state ``h0`` (and input 2 the LSTM's ``c0``),
output 1 the final ``h_n`` (output 2 the LSTM's ``c_n``). Per sample a state is
``(num_layers·D, H)`` — the batch goes first, as everywhere; the lowering moves it to
where torch wants it (``(num_layers·D, N, H)``). This is how an encoder's state starts a
decoder, or a CNN's vector a caption generator.
"""

from __future__ import annotations

from graph_engine.layers._common import (
    bool_param, float_param, int_param, numel, shape_text, torch_kwargs,
)
from graph_engine.params import ParamSpec
from graph_engine.weight_params import init_params
from graph_engine.registry import Fix, LayerSpec, Port, ShapeError, call, no_field, register

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


def _state_names(layer: str) -> tuple[str, ...]:
    return ("h0", "c0") if layer == "LSTM" else ("h0",)


def state_shape(params) -> tuple[int, int]:
    """One sample's hidden (or cell) state: (num_layers·D, H)."""
    return (params["num_layers"] * _directions(params), params["hidden_size"])


def _check_states(layer: str, params, states) -> None:
    """``h0``/``c0`` must be (num_layers·D, H), and an LSTM takes both or neither."""
    expected = state_shape(params)
    names = _state_names(layer)
    given = [name for name, shape in zip(names, states) if shape is not None]
    if layer == "LSTM" and len(given) == 1:
        missing = "c0" if given == ["h0"] else "h0"
        raise ShapeError(f"LSTM takes h0 and c0 together: connect {missing} too (or neither)")
    for name, shape in zip(names, states):
        if shape is None or tuple(shape) == expected:
            continue
        fix = None
        if numel(shape) == numel(expected):
            fix = Fix(label=f"Insert a Reshape to {shape_text(expected)}", layer_type="Reshape",
                      params={"shape": list(expected)}, port=1 + names.index(name))
        raise ShapeError(f"{name} must be (num_layers·directions, hidden_size) = {shape_text(expected)}, "
                         f"got {shape_text(shape)}", fix)


def _shape_rule(layer: str):
    def shape(params, in_shapes):
        source, *states = in_shapes
        _check_states(layer, params, states)
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
        out = (source[0], width) if params["return_sequences"] else (width,)
        return [out] + [state_shape(params)] * len(_state_names(layer))

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
        source, *states = inputs
        # batch-first (N, L·D, H) -> torch's (L·D, N, H)
        states = [b.method(b.method(s, "transpose", 0, 1), "contiguous") for s in states if s is not None]
        if not states:
            result = b.module(source)
        elif layer == "LSTM":
            result = b.module(source, b.pack(states))
        else:
            result = b.module(source, states[0])
        finals = b.getitem(result, 1)
        hidden = b.getitem(finals, 0) if layer == "LSTM" else finals
        if params["return_sequences"]:
            out = b.getitem(result, 0)
        elif not params["bidirectional"]:
            out = b.getitem(hidden, -1)
        else:
            out = b.cat([b.getitem(hidden, -2), b.getitem(hidden, -1)], 1)
        ends = [hidden] + ([b.getitem(finals, 1)] if layer == "LSTM" else [])
        return [out] + [b.method(end, "transpose", 0, 1) for end in ends]

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
        type=_layer, category="Recurrent", help=_help, params=(*_params(_layer), *init_params()),
        shape=_shape_rule(_layer), param_count=_param_count(_layer), macs=_macs(_layer),
        field=no_field, module=_module(_layer), forward=_forward(_layer), warnings=_warnings,
        inputs=(1, 1 + len(_state_names(_layer))),
        input_ports=(Port("in"), *(Port(n, optional=True, state=True) for n in _state_names(_layer))),
        output_ports=(Port("out"), *(Port(n.replace("0", "_n"), state=True) for n in _state_names(_layer))),
        key_params=("hidden_size", "num_layers", "bidirectional"),
    ))
