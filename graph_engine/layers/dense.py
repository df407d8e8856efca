"""Dense layers: Linear (fully connected) and Embedding (token index -> vector)."""

from __future__ import annotations

from graph_engine.layers._common import bool_param, flatten_fix, int_param, numel, shape_text, torch_kwargs
from graph_engine.weight_params import init_params
from graph_engine.registry import LayerSpec, ShapeError, call, no_field, register


def _linear_shape(params, in_shapes):
    (source,) = in_shapes
    if len(source) > 2:
        raise ShapeError(f"Linear needs flat (features) input, got {shape_text(source)}; "
                         "insert a Flatten", flatten_fix())
    return (*source[:-1], params["out_features"])


register(LayerSpec(
    type="Linear", category="Dense",
    help="Fully connected layer: every output is a weighted sum of all input features "
         "(applied per time step on (T, F)).",
    params=(int_param("out_features", 10, "Number of output units."),
            bool_param("bias", True, "Learn an additive bias per unit."), *init_params()),
    shape=_linear_shape,
    param_count=lambda p, s, o: s[0][-1] * p["out_features"] + (p["out_features"] if p["bias"] else 0),
    macs=lambda p, s, o: numel(s[0]) * p["out_features"],
    field=no_field,
    module=lambda p, s: call("Linear", s[0][-1], p["out_features"], **torch_kwargs(p, {"bias": True})),
    key_params=("out_features",),
))


def _embedding_shape(params, in_shapes):
    return (*in_shapes[0], params["embedding_dim"])


register(LayerSpec(
    type="Embedding", category="Dense",
    help="Looks up a learned vector for each integer token index (feed it an int64 Input).",
    params=(int_param("num_embeddings", 128, "Vocabulary size: token indices are 0 … num_embeddings-1."),
            int_param("embedding_dim", 32, "Length of each token's vector."), *init_params()),
    shape=_embedding_shape,
    param_count=lambda p, s, o: p["num_embeddings"] * p["embedding_dim"],
    field=no_field, input_dtype="int64", token_limit=lambda p: p["num_embeddings"],
    module=lambda p, s: call("Embedding", p["num_embeddings"], p["embedding_dim"]),
    key_params=("num_embeddings", "embedding_dim"),
))
