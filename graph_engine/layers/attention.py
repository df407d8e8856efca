"""Attention: MultiheadAttention (torch.nn's, batch-first).

Per sample the query is (L, E), the key (S, kdim) and the value (S, vdim); the output is
(L, E) and the attention weights (averaged over the heads) are (L, S). An optional
``attn_mask`` of (L, S) per sample (float: added to the scores, -inf blocks) is repeated
for each head, as torch wants an (N·num_heads, L, S) mask.
"""

from __future__ import annotations

from graph_engine.layers._common import bool_param, float_param, int_param, shape_text, torch_kwargs
from graph_engine.weight_params import init_params
from graph_engine.registry import LayerSpec, Port, ShapeError, call, no_field, register


def _shape(params, in_shapes):
    query, key, value, *mask = in_shapes
    embed, heads = params["embed_dim"], params["num_heads"]
    for name, shape in (("query", query), ("key", key), ("value", value)):
        if len(shape) != 2:
            raise ShapeError(f"MultiheadAttention: {name} must be a (L, E) sequence, got {shape_text(shape)}")
    if query[1] != embed:
        raise ShapeError(f"MultiheadAttention: the query has {query[1]} features but embed_dim is "
                         f"{embed}; set embed_dim to {query[1]}")
    if embed % heads:
        raise ShapeError(f"MultiheadAttention: num_heads {heads} must divide embed_dim {embed}")
    if key[0] != value[0]:
        raise ShapeError(f"MultiheadAttention: key has {key[0]} steps but value has {value[0]}; "
                         "they must match")
    scores = (query[0], key[0])
    if mask and mask[0] is not None and tuple(mask[0]) != scores:
        raise ShapeError(f"MultiheadAttention: attn_mask must be (L, S) = {shape_text(scores)}, "
                         f"got {shape_text(mask[0])}")
    return [query, scores]


def _dims(in_shapes) -> tuple[int, int]:
    """(kdim, vdim): the key's and the value's feature sizes."""
    return in_shapes[1][1], in_shapes[2][1]


def _param_count(params, in_shapes, out_shape):
    embed = params["embed_dim"]
    kdim, vdim = _dims(in_shapes)
    weights = embed * (embed + kdim + vdim) + embed * embed  # q, k, v and out projections
    return weights + (4 * embed if params["bias"] else 0)


def _macs(params, in_shapes, out_shape):
    embed = params["embed_dim"]
    (length, _), (steps, kdim), (_, vdim) = in_shapes[:3]
    projections = length * embed * embed * 2 + steps * embed * (kdim + vdim)
    return projections + 2 * length * steps * embed  # scores and the weighted sum


def _module(params, in_shapes):
    kdim, vdim = _dims(in_shapes)
    extra = {name: size for name, size in (("kdim", kdim), ("vdim", vdim)) if size != params["embed_dim"]}
    return call("MultiheadAttention", params["embed_dim"], params["num_heads"],
                **torch_kwargs(params, {"dropout": 0.0, "bias": True}), **extra, batch_first=True)


def _forward(b, inputs, params, in_shapes):
    query, key, value, *mask = inputs
    if mask and mask[0] is not None:
        heads = b.method(mask[0], "repeat_interleave", params["num_heads"], 0)
        result = b.module(query, key, value, attn_mask=heads)
    else:
        result = b.module(query, key, value)
    return [b.getitem(result, 0), b.getitem(result, 1)]


register(LayerSpec(
    type="MultiheadAttention", category="Attention",
    help="Scaled dot-product attention with num_heads heads (torch.nn's, batch-first): each "
         "query step mixes the value steps, weighted by how well its query matches their keys. "
         "Connect one sequence to query, key and value for self-attention.",
    params=(int_param("embed_dim", 32, "Features of the query and the output (the query's E)."),
            int_param("num_heads", 4, "Parallel heads; each sees embed_dim / num_heads features.",
                      maximum=1024),
            float_param("dropout", 0.0, "Dropout on the attention weights while training.",
                        minimum=0.0, maximum=0.99),
            bool_param("bias", True, "Learn biases in the projections."), *init_params()),
    inputs=(3, 4),
    input_ports=(Port("query"), Port("key"), Port("value"), Port("attn_mask", optional=True)),
    output_ports=(Port("out"), Port("weights")),
    shape=_shape, param_count=_param_count, macs=_macs, field=no_field,
    module=_module, forward=_forward, key_params=("embed_dim", "num_heads"),
))
