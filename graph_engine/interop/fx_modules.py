"""torch.nn modules -> layer types with their params (the import's ``call_module`` half).

Each rule reads the module's attributes and returns ``(layer type, params)``, or raises
:class:`Unsupported` with the reason when a setting has no counterpart in the layer type
(e.g. a Conv2d with ``padding_mode="reflect"``). ``None`` as the type means "identity".
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

Mapping = tuple[str | None, dict[str, Any]]
#: layer types whose node needs the recurrent output handling of the importer
RECURRENT = ("RNN", "LSTM", "GRU")


class Unsupported(Exception):
    """This call has no layer type (the message says why, in a few words)."""


def int_or_pair(value: Any) -> int | list[int]:
    """(3, 3) -> 3, (3, 5) -> [3, 5], (3,) -> 3, 3 -> 3: the registry's canonical form."""
    if isinstance(value, (tuple, list)):
        values = [int(v) for v in value]
        if len(set(values)) == 1:
            return values[0]
        return values
    return int(value)


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise Unsupported(reason)


def _conv(module: nn.Module) -> Mapping:
    _require(module.padding_mode == "zeros", f"padding_mode={module.padding_mode!r} (only zeros)")
    padding = module.padding
    if isinstance(padding, str):
        padding = "same" if padding == "same" else 0
    else:
        padding = int_or_pair(padding)
    return type(module).__name__, {
        "out_channels": module.out_channels, "kernel_size": int_or_pair(module.kernel_size),
        "stride": int_or_pair(module.stride), "padding": padding,
        "dilation": int_or_pair(module.dilation), "groups": module.groups, "bias": module.bias is not None}


def _conv_transpose(module: nn.ConvTranspose2d) -> Mapping:
    _require(module.padding_mode == "zeros", f"padding_mode={module.padding_mode!r} (only zeros)")
    _require(int_or_pair(module.dilation) == 1, "dilation (the layer type has none)")
    _require(module.groups == 1, "groups (the layer type has none)")
    return "ConvTranspose2d", {
        "out_channels": module.out_channels, "kernel_size": int_or_pair(module.kernel_size),
        "stride": int_or_pair(module.stride), "padding": int_or_pair(module.padding),
        "output_padding": int_or_pair(module.output_padding), "bias": module.bias is not None}


def pool_params(kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool = False,
                count_include_pad: bool | None = None) -> dict[str, Any]:
    """A stride equal to the kernel (torch's default) is written as None, as the palette does;
    ``count_include_pad`` only for average pooling."""
    kernel = int_or_pair(kernel_size)
    strides = None if stride in (None, [], ()) else int_or_pair(stride)
    params = {"kernel_size": kernel, "stride": None if strides == kernel else strides,
              "padding": int_or_pair(padding), "ceil_mode": bool(ceil_mode)}
    if count_include_pad is not None:
        params["count_include_pad"] = bool(count_include_pad)
    return params


def _max_pool(module: nn.Module) -> Mapping:
    _require(int_or_pair(module.dilation) == 1, "dilation (the layer type has none)")
    _require(not module.return_indices, "return_indices=True")
    return type(module).__name__, pool_params(module.kernel_size, module.stride, module.padding,
                                              module.ceil_mode)


def _avg_pool(module: nn.AvgPool2d) -> Mapping:
    _require(module.divisor_override is None, "divisor_override")
    return "AvgPool2d", pool_params(module.kernel_size, module.stride, module.padding, module.ceil_mode,
                                    module.count_include_pad)


def _adaptive_max_pool(module: nn.AdaptiveMaxPool2d) -> Mapping:
    _require(not module.return_indices, "return_indices=True")
    return "AdaptiveMaxPool2d", adaptive_params(module.output_size)


def adaptive_params(output_size: Any) -> dict[str, Any]:
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    _require(all(s is not None for s in sizes), "output_size with None (keep the input size)")
    return {"output_size": int_or_pair(output_size)}


def _batch_norm(module: nn.Module) -> Mapping:
    _require(module.momentum is not None, "momentum=None (a cumulative average)")
    _require(module.track_running_stats, "track_running_stats=False")
    return type(module).__name__, {"eps": float(module.eps), "momentum": float(module.momentum),
                                   "affine": module.affine}


def _layer_norm(module: nn.LayerNorm) -> Mapping:
    _require(len(module.normalized_shape) == 1, "normalizing over more than the last dimension")
    _require(not module.elementwise_affine or module.bias is not None, "bias=False")
    return "LayerNorm", {"eps": float(module.eps), "elementwise_affine": module.elementwise_affine,
                         "channels_first": False}


def _group_norm(module: nn.GroupNorm) -> Mapping:
    return "GroupNorm", {"num_groups": module.num_groups, "eps": float(module.eps), "affine": module.affine}


def _instance_norm(module: nn.InstanceNorm2d) -> Mapping:
    _require(module.momentum is not None, "momentum=None (a cumulative average)")
    return "InstanceNorm2d", {"eps": float(module.eps), "momentum": float(module.momentum),
                              "affine": module.affine, "track_running_stats": module.track_running_stats}


def _attention(module: nn.MultiheadAttention) -> Mapping:
    _require(module.batch_first, "batch_first=False (graphs are batch-first: (N, L, E))")
    _require(module.bias_k is None and not module.add_zero_attn, "add_bias_kv or add_zero_attn")
    return "MultiheadAttention", {"embed_dim": module.embed_dim, "num_heads": module.num_heads,
                                  "dropout": float(module.dropout), "bias": module.in_proj_bias is not None}


def attention_inputs(args: tuple, kwargs: dict) -> list[Any]:
    """query, key and value of a ``MultiheadAttention`` call, refusing the options the layer
    type lacks (the masks of torch's call have other shapes than a per-sample one)."""
    names = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
             "average_attn_weights", "is_causal")
    bound = {"key_padding_mask": None, "need_weights": True, "attn_mask": None,
             "average_attn_weights": True, "is_causal": False, **dict(zip(names, args)), **kwargs}
    _require(all(name in bound for name in names[:3]), "query, key and value are not all given")
    _require(bound["key_padding_mask"] is None and bound["attn_mask"] is None and not bound["is_causal"],
             "a mask (the layer type's attn_mask port takes one (L, S) mask per sample)")
    _require(bound["average_attn_weights"], "average_attn_weights=False")
    return [bound["query"], bound["key"], bound["value"]]


def sample_dim(dim: Any, rank: int) -> int:
    """torch's dim of a tensor of ``rank`` (with the batch) -> the layer's (without it)."""
    _require(isinstance(dim, int), "a dim that is not a number")
    _require(dim % rank != 0, "an operation on the batch dimension")
    return dim - 1 if dim > 0 else dim


def softmax_dim(dim: Any) -> int:
    """torch's dim (with the batch) -> the layer's dim (without it)."""
    _require(dim is not None, "softmax without dim")
    _require(dim != 0, "softmax over the batch dimension")
    return dim - 1 if dim > 0 else dim


def upsample_params(scale_factor: Any, size: Any, mode: str, align_corners: Any,
                    in_shape: tuple[int, ...] | None, out_shape: tuple[int, ...] | None) -> dict[str, Any]:
    _require(mode in ("nearest", "bilinear"), f"mode={mode!r} (nearest or bilinear)")
    _require(not align_corners, "align_corners=True")
    if scale_factor is None and in_shape is not None and out_shape is not None:
        ratios = {o / i for i, o in zip(in_shape[2:], out_shape[2:])}
        scale_factor = ratios.pop() if len(ratios) == 1 else None
    factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
    _require(len({f for f in factors}) == 1 and factors[0] is not None and float(factors[0]).is_integer(),
             "a size or scale factor that is not one whole number for every axis")
    return {"scale_factor": int(factors[0]), "mode": mode}


def _upsample(module: nn.Upsample) -> Mapping:
    return "Upsample", upsample_params(module.scale_factor, module.size, module.mode,
                                       module.align_corners, None, None)


def _gelu(module: nn.GELU) -> Mapping:
    _require(module.approximate == "none", f"approximate={module.approximate!r}")
    return "GELU", {}


def _embedding(module: nn.Embedding) -> Mapping:
    _require(module.max_norm is None, "max_norm (renormalises the vectors it looks up)")
    return "Embedding", {"num_embeddings": module.num_embeddings, "embedding_dim": module.embedding_dim}


def _recurrent(module: nn.RNNBase) -> Mapping:
    _require(module.batch_first, "batch_first=False (graphs are batch-first: (N, T, F))")
    _require(getattr(module, "proj_size", 0) == 0, "proj_size")
    params = {"hidden_size": module.hidden_size, "num_layers": module.num_layers,
              "bidirectional": module.bidirectional, "dropout": float(module.dropout),
              "return_sequences": True, "bias": module.bias}
    if isinstance(module, nn.RNN):
        params["nonlinearity"] = module.nonlinearity
    return type(module).__name__, params


MODULE_RULES: dict[type, Callable[[Any], Mapping]] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv_transpose,
    nn.Linear: lambda m: ("Linear", {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.MaxPool1d: _max_pool, nn.MaxPool2d: _max_pool, nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool2d: lambda m: ("AdaptiveAvgPool2d", adaptive_params(m.output_size)),
    nn.AdaptiveMaxPool2d: _adaptive_max_pool,
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _group_norm, nn.InstanceNorm2d: _instance_norm,
    nn.Dropout: lambda m: ("Dropout", {"p": float(m.p)}),
    nn.Dropout2d: lambda m: ("Dropout2d", {"p": float(m.p)}),
    nn.ReLU: lambda m: ("ReLU", {}), nn.Sigmoid: lambda m: ("Sigmoid", {}),
    nn.Tanh: lambda m: ("Tanh", {}), nn.GELU: _gelu,
    nn.ReLU6: lambda m: ("ReLU6", {}), nn.SiLU: lambda m: ("SiLU", {}),
    nn.Hardswish: lambda m: ("Hardswish", {}), nn.Hardsigmoid: lambda m: ("Hardsigmoid", {}),
    nn.ELU: lambda m: ("ELU", {"alpha": float(m.alpha)}),
    nn.LeakyReLU: lambda m: ("LeakyReLU", {"negative_slope": float(m.negative_slope)}),
    nn.Softmax: lambda m: ("Softmax", {"dim": softmax_dim(m.dim)}),
    nn.Identity: lambda m: (None, {}),
    nn.Embedding: _embedding, nn.Upsample: _upsample,
    nn.RNN: _recurrent, nn.LSTM: _recurrent, nn.GRU: _recurrent,
    nn.MultiheadAttention: _attention,
}

#: modules whose layer depends on the shapes around them (flatten or a general reshape)
RESHAPING_MODULES: tuple[type, ...] = (nn.Flatten, nn.Unflatten)
