"""Property tests: the analysis's shapes and parameter counts are what torch really does.

For every layer type in the registry, hypothesis draws parameters from the layer's
own ParamSpecs (small ranges) and a small input shape, builds Input -> layer -> Output
and runs ``analyze``. Layers with several inputs (Add, Concat, Mul, MatMul, attention) get
one drawn shape per input port, each fed through Linear -> Reshape; a layer with several
outputs (Chunk, Split, attention) gets one Output per output port its params give.

* analysis accepts: the compiled module runs on a batch of 2, each output's shape is
  ``(2, *out_shape)`` of its port and the layer's parameter count is the analysis's;
* analysis rejects: the same layer built directly (``spec.module`` + ``spec.forward``
  run eagerly) must fail in torch, unless the case falls under one of the
  deliberately stricter rules listed in ``STRICTER_RULES`` (torch would run it, but
  with a meaning the editor does not intend).

Each test also counts its outcomes so that it fails when too few drawn cases are
valid: a property that only ever sees rejected graphs would prove nothing.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import replace
from typing import Any, Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from graph_engine import Graph, ParamSpec, analyze, compile_graph, get_spec, layer_types
from graph_engine import registry
from graph_engine.params import pair
from graph_engine.registry import LayerSpec, ShapeError

#: torch's performance note for padding="same" with an even kernel is not a shape problem
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using padding='same' with even kernel lengths:UserWarning")

BATCH = 2
MAX_EXAMPLES = 30
MERGE_EXAMPLES = 40
#: at least this fraction of the drawn cases must be graphs the analysis accepts
MIN_VALID_FRACTION = 0.12

#: one required input (recurrent layers also have optional state ports, tested in test_ports.py)
SINGLE = [s.type for s in layer_types() if s.role is None and s.inputs[0] == 1 and s.inputs[1] is not None]
#: several required inputs: merges (any number) and fixed ports (Mul, MatMul, attention)
MERGES = [s.type for s in layer_types() if s.role is None and s.inputs[0] >= 2]

#: small drawing ranges per parameter name (clipped to the ParamSpec's own bounds)
NAME_RANGES = {
    "out_channels": (1, 8), "out_features": (1, 8), "hidden_size": (1, 8),
    "embedding_dim": (1, 8), "num_embeddings": (1, 16),
    "kernel_size": (1, 5), "stride": (1, 3), "padding": (0, 3), "output_padding": (0, 2),
    "dilation": (1, 2), "groups": (1, 4), "num_layers": (1, 3), "pieces": (2, 4),
    "dim": (-4, 3), "scale_factor": (1, 3), "output_size": (1, 4),
    "dim0": (-4, 3), "dim1": (-4, 3), "chunks": (1, 4), "index": (-4, 4), "start": (-5, 5),
    "end": (-5, 8), "step": (1, 3), "num_groups": (1, 4), "num_heads": (1, 4), "embed_dim": (1, 8),
}


# -- drawing ------------------------------------------------------------------------------
def _int_range(spec: ParamSpec) -> tuple[int, int]:
    low, high = NAME_RANGES.get(spec.name, (0, 4))
    if spec.minimum is not None:
        low = max(low, int(math.ceil(spec.minimum)))
    if spec.maximum is not None:
        high = min(high, int(spec.maximum))
    high = max(low, high)
    return low, high


def _ints(spec: ParamSpec) -> st.SearchStrategy[int]:
    low, high = _int_range(spec)
    ints = st.integers(low, high)
    if spec.name == "groups":
        return st.sampled_from([1] * 9 + list(range(2, high + 1)))   # groups > 1 rarely divides
    if spec.name in ("padding", "output_padding"):
        return st.one_of(st.just(0), ints)          # large paddings are mostly refused
    return ints


def _int_or_pair(spec: ParamSpec) -> st.SearchStrategy[Any]:
    if not spec.pair_allowed:
        return _ints(spec)
    return st.one_of(_ints(spec), st.tuples(_ints(spec), _ints(spec)).map(list))


def _shape_values(spec: ParamSpec, in_shape: tuple[int, ...]) -> st.SearchStrategy[list[int]]:
    """A Reshape target: usually a factorisation of the input's size, sometimes anything."""
    total = math.prod(in_shape)
    divisors = [d for d in range(1, total + 1) if total % d == 0]

    @st.composite
    def factorised(draw):
        dims, rest = [], total
        for _ in range(draw(st.integers(spec.min_length, spec.max_length)) - 1):
            d = draw(st.sampled_from([d for d in divisors if rest % d == 0]))
            dims.append(d)
            rest //= d
        return draw(st.permutations(dims + [rest]))

    anything = st.lists(st.integers(1, 8), min_size=spec.min_length, max_size=spec.max_length)
    return st.one_of(factorised(), factorised(), anything)


def _dims_values(spec: ParamSpec, in_shape: tuple[int, ...]) -> st.SearchStrategy[list[int]]:
    """A list of dims (Permute's order, Mean's dims): usually an order of the sample's axes,
    or some of them, sometimes negative or out of range."""
    rank = len(in_shape)
    low, high = int(spec.minimum), int(spec.maximum)
    order = st.permutations(list(range(rank))).map(list)
    some = st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=max(1, min(rank, spec.max_length)),
                    unique=True)
    # fewer axes than the sample has: a reduction (Mean, Sum) that leaves something, which the
    # layers accept (drawn often enough that the share of valid cases never falls by chance)
    fewer = st.lists(st.integers(0, rank - 1), min_size=1, max_size=max(1, min(rank - 1, spec.max_length)),
                     unique=True)
    anything = st.lists(st.integers(max(low, -4), min(high, 3)), min_size=spec.min_length,
                        max_size=min(spec.max_length, 4))
    return st.one_of(order, some, some, fewer, anything)


def _sizes_values(spec: ParamSpec, in_shape: tuple[int, ...]) -> st.SearchStrategy[list[int]]:
    """Expand's target (each size kept, -1, or grown from 1) or Split's sections (a split of
    one axis), sometimes anything."""
    low = int(spec.minimum) if spec.minimum is not None else 1

    @st.composite
    def fitted(draw):
        if spec.name == "split_size_or_sections":
            total = draw(st.sampled_from(in_shape))
            cuts = sorted(draw(st.lists(st.integers(1, max(1, total - 1)), max_size=min(3, total - 1),
                                        unique=True))) if total > 1 else []
            return [b - a for a, b in zip([0] + cuts, cuts + [total])]
        return [draw(st.sampled_from([-1, n] if n > 1 else [-1, 1, 2, 3, 5])) for n in in_shape]

    anything = st.lists(st.integers(low, 6), min_size=spec.min_length, max_size=spec.max_length)
    return st.one_of(fitted(), fitted(), anything)


def _small_ints(low: int, high: int, even: bool = False):
    """Roll's shifts, IndexSelect's index, Pad's pad (an even count: before and after per dim)."""
    def values(spec: ParamSpec, in_shape: tuple[int, ...]) -> st.SearchStrategy[list[int]]:
        longest = min(spec.max_length, 2 * len(in_shape) + 1 if even else 4)
        lists = st.lists(st.integers(low, high), min_size=spec.min_length, max_size=longest)
        if not even:
            return lists
        return st.one_of(lists.map(lambda v: v[:len(v) // 2 * 2] or [0, 1]), lists)

    return values


#: list-valued params that are not a Reshape target: how to draw them
LIST_PARAMS = {"dims": _dims_values, "dim": _dims_values, "shape": _sizes_values,
               "split_size_or_sections": _sizes_values, "shifts": _small_ints(-5, 5),
               "index": _small_ints(-4, 4), "pad": _small_ints(0, 3, even=True)}


def param_strategy(spec: ParamSpec, in_shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """Values for one ParamSpec, respecting its kind, bounds and choices."""
    kind = spec.kind
    if kind == "int":
        return _ints(spec)
    if kind == "float":
        low = spec.minimum if spec.minimum is not None else -1.0
        high = spec.maximum if spec.maximum is not None else 1.0
        return st.one_of(st.just(spec.default), st.floats(low, high, allow_nan=False))
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(spec.choices)
    if kind == "int_or_pair":
        return _int_or_pair(spec)
    if kind == "optional_int_or_pair":
        return st.one_of(st.none(), _int_or_pair(spec))
    if kind == "padding":
        return st.sampled_from([False, False, True]).flatmap(
            lambda same: st.just("same") if same else _int_or_pair(spec))
    if kind == "shape" and spec.minimum is None and spec.name != "split_size_or_sections":
        return _shape_values(spec, in_shape)
    if kind == "shape":
        return LIST_PARAMS[spec.name](spec, in_shape)
    if kind == "values":  # a Constant's values: usually as many as its shape (drawn like a Reshape's) holds
        numbers = st.floats(-3, 3, allow_nan=False)
        return st.one_of(st.lists(numbers, min_size=math.prod(in_shape), max_size=math.prod(in_shape)),
                         st.lists(numbers, min_size=1, max_size=8))
    raise AssertionError(f"no strategy for parameter kind {kind!r} ({spec.name})")


def _natural_ranks(spec: LayerSpec) -> tuple[int, ...]:
    """Ranks the layer accepts with its default params (probed); draws favour them."""
    if any(p.kind == "shape" for p in spec.params):
        return (1, 2, 3)
    defaults = {p.name: p.default for p in spec.params}
    ranks = []
    for rank in (1, 2, 3):
        try:
            spec.shape(defaults, [(8,) * rank])
        except ShapeError:
            continue
        ranks.append(rank)
    return tuple(ranks) or (1, 2, 3)


def _rank(spec: LayerSpec) -> st.SearchStrategy[int]:
    """Usually a rank the layer takes, sometimes any rank."""
    return st.sampled_from([*_natural_ranks(spec)] * 8 + [1, 2, 3])


#: one axis of a sample; 6, 8 and 12 are favoured so that channel groups often divide
_SIZE = st.one_of(st.integers(1, 12), st.sampled_from([6, 8, 12]))


def _shape(rank: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[_SIZE] * rank)


@st.composite
def single_cases(draw, layer: str):
    spec = get_spec(layer)
    shape = draw(_rank(spec).flatmap(_shape))
    params = {p.name: draw(param_strategy(p, shape), label=p.name) for p in spec.params}
    if layer == "Roll" and draw(st.integers(0, 3)):  # mostly one shift per dim, as torch needs
        params["shifts"] = (params["shifts"] * len(params["dims"]))[:len(params["dims"])]
    # token indices for an Embedding; layers that take any dtype get them sometimes too
    int64 = spec.input_dtype == "int64" or (spec.input_dtype == "any" and draw(st.booleans()))
    return shape, params, int64


@st.composite
def merge_cases(draw, layer: str):
    spec = get_spec(layer)
    count = draw(st.integers(spec.inputs[0], min(spec.inputs[1] or 3, 3)))
    first = draw(st.integers(1, 3).flatmap(_shape))
    shapes = [first]
    for _ in range(count - 1):
        how = draw(st.sampled_from(["same", "same", "one axis", "anything", "broadcast", "matrix",
                                    "matrix"]))
        if how == "same":
            shapes.append(first)
        elif how == "one axis":
            axis = draw(st.integers(0, len(first) - 1))
            size = draw(st.integers(1, 12))
            shapes.append(tuple(size if i == axis else d for i, d in enumerate(first)))
        elif how == "broadcast":  # a gate: some sizes 1 (Mul broadcasts them)
            ones = draw(st.lists(st.booleans(), min_size=len(first), max_size=len(first)))
            shapes.append(tuple(1 if one else d for one, d in zip(ones, first)))
        elif how == "matrix":  # the right operand of a matrix product: (..., m, p)
            shapes.append((*first[:-2], first[-1], draw(st.integers(1, 6))))
        else:
            shapes.append(draw(st.integers(1, 3).flatmap(_shape)))
    params = {p.name: draw(param_strategy(p, first), label=p.name) for p in spec.params}
    return shapes, params


@st.composite
def attention_cases(draw, layer: str):
    """query (L, E), key (S, kdim), value (S, vdim) and sometimes a mask (L, S); now and then
    one of them, or embed_dim, does not fit."""
    spec = get_spec(layer)
    heads = draw(st.integers(1, 4))
    embed = heads * draw(st.integers(1, 3))
    length, steps = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kdim, vdim = draw(st.sampled_from([embed, embed, 3])), draw(st.sampled_from([embed, embed, 5]))
    shapes = [(length, embed), (steps, kdim), (steps, vdim)]
    if draw(st.booleans()):
        shapes.append((length, steps))
    if draw(st.integers(0, 3)) == 0:
        port = draw(st.integers(0, len(shapes) - 1))
        shapes[port] = draw(st.integers(1, 3).flatmap(_shape))
    params = {p.name: draw(param_strategy(p, shapes[0]), label=p.name) for p in spec.params}
    params["num_heads"] = heads if draw(st.integers(0, 4)) else params["num_heads"]
    params["embed_dim"] = embed if draw(st.integers(0, 4)) else params["embed_dim"]
    return shapes, params


#: layers whose inputs must fit one another in more ways than merge_cases draws
MULTI_INPUT_CASES = {"MultiheadAttention": attention_cases}


# -- running ------------------------------------------------------------------------------
class EagerBuilder:
    """Runs a layer's forward rule on real tensors (the Builder protocol, eagerly)."""

    def __init__(self, module: torch.nn.Module | None):
        self._module = module

    def module(self, *inputs, **named_inputs):
        assert self._module is not None, "forward rule calls a module the layer does not build"
        return self._module(*inputs, **named_inputs)

    def parameter(self, batch, rank):
        return self._module.expand(batch.size(0), *[-1] * rank)

    def function(self, path, *args, **kwargs):
        return registry.resolve_function(path)(*args, **kwargs)

    def method(self, value, name, *args):
        return getattr(value, name)(*args)

    def add(self, left, right):
        return left + right

    def cat(self, values, dim):
        return torch.cat(list(values), dim=dim)

    def getitem(self, value, index):
        return value[index]


def _example(shape: tuple[int, ...], params: dict, int64: bool) -> torch.Tensor:
    if int64:
        return torch.randint(0, params.get("num_embeddings", 10), (BATCH, *shape))
    return torch.randn(BATCH, *shape)


def _torch_outcome(spec: LayerSpec, params: dict, shapes: list[tuple[int, ...]],
                   inputs: list[torch.Tensor]) -> str:
    """Run the layer directly in torch: "raised", "rule raised" or "ran"."""
    try:
        call = spec.module(params, shapes) if spec.module is not None else None
    except Exception:
        # the engine cannot even form the constructor's arguments for these shapes
        return "rule raised"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = call.build() if call is not None else None
            if isinstance(module, torch.nn.Module):
                module.eval()
            with torch.no_grad():
                spec.forward(EagerBuilder(module), inputs, params, shapes)
    except Exception:
        return "raised"
    return "ran"


def _broadcastable(shapes) -> bool:
    try:
        torch.broadcast_shapes(*[(BATCH, *s) for s in shapes])
    except RuntimeError:
        return False
    return True


def _unbatched(rank_needed: int):
    """torch also takes one unbatched sample, so a sample of lower rank runs with the
    batch axis taken for a data axis (a 2×C×L batch as one 2-channel image)."""
    return lambda params, shapes: len(shapes[0]) < rank_needed


def _transposed_sizes(params, shape) -> list[int]:
    """torch's output size formula for ConvTranspose2d (dilation 1)."""
    return [(n - 1) * s - 2 * p + k + op for n, k, s, p, op in zip(
        shape[1:], pair(params["kernel_size"]), pair(params["stride"]), pair(params["padding"]),
        pair(params["output_padding"]))]


def _batch_axis(params, shapes) -> bool:
    """dim = -(rank + 1) is the batch axis: torch softmaxes / concatenates along it."""
    return params["dim"] == -(len(shapes[0]) + 1)


def _empty_slice(params, shapes) -> bool:
    rank = len(shapes[0])
    if not -rank <= params["dim"] < rank:
        return False
    size = shapes[0][params["dim"]]
    return len(range(*slice(params["start"], params["end"], params["step"]).indices(size))) == 0


def _reaches_batch(*names: str):
    """Some dim param (an int or a list) is -(rank + 1): the batch axis."""
    def applies(params, shapes) -> bool:
        dims = [d for n in names for d in (params[n] if isinstance(params[n], list) else [params[n]])]
        return -(len(shapes[0]) + 1) in dims

    return applies


#: Cases the analysis rejects although torch would run them, because torch would
#: silently give them another meaning. Layer type -> (rule, predicate(params, shapes)).
STRICTER_RULES: dict[str, list[tuple[str, Callable[[dict, list], bool]]]] = {
    "Linear": [("Linear refuses inputs of rank > 2 (torch applies it to the last axis)",
                lambda p, s: len(s[0]) > 2)],
    "Conv1d": [("Conv1d refuses (features) inputs (torch: unbatched (C, L))", _unbatched(2))],
    "MaxPool1d": [("MaxPool1d refuses (features) inputs (torch: unbatched (C, L))", _unbatched(2))],
    "Conv2d": [("Conv2d refuses (C, L) inputs (torch: unbatched (C, H, W))", _unbatched(3))],
    "MaxPool2d": [("MaxPool2d refuses (C, L) inputs (torch: unbatched (C, H, W))", _unbatched(3))],
    "AvgPool2d": [("AvgPool2d refuses (C, L) inputs (torch: unbatched (C, H, W))", _unbatched(3))],
    "AdaptiveAvgPool2d": [("AdaptiveAvgPool2d refuses (C, L) inputs (torch: unbatched)",
                           _unbatched(3))],
    "Softmax": [("Softmax refuses a negative dim that reaches the batch axis", _batch_axis)],
    "Concat": [("Concat refuses a negative dim that reaches the batch axis", _batch_axis)],
    "Dropout2d": [("Dropout2d refuses inputs that are not (C, H, W) (torch only warns)",
                   lambda p, s: len(s[0]) != 3)],
    "ConvTranspose2d": [
        ("ConvTranspose2d refuses (C, L) inputs (torch: unbatched)", _unbatched(3)),
        ("ConvTranspose2d refuses an output of size 0 (torch returns an empty tensor)",
         lambda p, s: len(s[0]) == 3 and 0 in _transposed_sizes(p, s[0]))],
    "Add": [("Add refuses shapes that differ but broadcast", lambda p, s: _broadcastable(s))],
    "Mul": [("Mul refuses samples of different ranks that broadcast (torch would align a data "
             "axis against the batch axis)", lambda p, s: _broadcastable(s))],
    "MatMul": [("MatMul refuses vectors and samples of different ranks (torch would multiply "
                "across the batch axis)", lambda p, s: min(map(len, s)) < 2 or len(s[0]) != len(s[1]))],
    "AdaptiveMaxPool2d": [("AdaptiveMaxPool2d refuses (C, L) inputs (torch: unbatched)", _unbatched(3))],
    "InstanceNorm2d": [
        ("InstanceNorm2d refuses (C, L) inputs (torch: unbatched (C, H, W))", _unbatched(3)),
        ("InstanceNorm2d refuses one position per channel (torch refuses it while training, "
         "and at evaluation without running statistics)", lambda p, s: math.prod(s[0][1:]) == 1)],
    "Permute": [("Permute refuses a negative dim that reaches the batch axis", _reaches_batch("dims"))],
    "Transpose": [("Transpose refuses a negative dim that reaches the batch axis",
                   _reaches_batch("dim0", "dim1"))],
    "Select": [("Select refuses to make a sample a single number (torch: a (N,) batch)",
                lambda p, s: len(s[0]) == 1),
               ("Select refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Slice": [("Slice refuses an empty result (torch returns an empty tensor)", _empty_slice),
              ("Slice refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Mean": [("Mean refuses to reduce a sample to a single number (torch: a (N,) batch)",
              lambda p, s: not p["keepdim"] and len(set(d % len(s[0]) for d in p["dim"])) == len(s[0])),
             ("Mean refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Sum": [("Sum refuses to reduce a sample to a single number (torch: a (N,) batch)",
             lambda p, s: not p["keepdim"] and len(set(d % len(s[0]) for d in p["dim"])) == len(s[0])),
            ("Sum refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Chunk": [("Chunk refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Split": [("Split refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Expand": [("Expand refuses a size 0 (torch returns an empty tensor)", lambda p, s: 0 in p["shape"])],
    "Roll": [("Roll refuses a negative dim that reaches the batch axis", _reaches_batch("dims"))],
    "Normalize": [("Normalize refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "IndexSelect": [("IndexSelect refuses a negative dim that reaches the batch axis", _reaches_batch("dim"))],
    "Pad": [("Pad refuses padding more dims than a sample has (torch would pad the batch axis)",
             lambda p, s: len(p["pad"]) // 2 > len(s[0]))],
    "Clamp": [("Clamp refuses min above max (torch gives max everywhere)", lambda p, s: p["min"] > p["max"])],
    "Reshape": [("Reshape refuses a size change that reshape(-1, ...) would absorb by mixing "
                 "samples across the batch",
                 lambda p, s: BATCH * math.prod(s[0]) % math.prod(p["shape"]) == 0)],
}


def _stricter_rule(layer: str, params: dict, shapes: list) -> str | None:
    for rule, applies in STRICTER_RULES.get(layer, []):
        if applies(params, shapes):
            return rule
    return None


def _build_graph(layer: str, shapes: list[tuple[int, ...]], params: dict, int64: bool):
    """Input -> layer -> Output (one per output port); a merge gets one Linear -> Reshape
    branch per port."""
    graph = Graph("property")
    if len(shapes) == 1:
        graph.create_node("Input", {"shape": list(shapes[0]),
                                    "dtype": "int64" if int64 else "float32"}, node_id="x")
        graph.create_node(layer, params, node_id="layer")
        graph.connect("x", "layer")
    else:
        graph.create_node("Input", {"shape": [3]}, node_id="x")
        graph.create_node(layer, params, node_id="layer")
        for port, shape in enumerate(shapes):
            graph.create_node("Linear", {"out_features": math.prod(shape)}, node_id=f"fc{port}")
            graph.create_node("Reshape", {"shape": list(shape)}, node_id=f"to{port}")
            graph.connect("x", f"fc{port}")
            graph.connect(f"fc{port}", f"to{port}")
            graph.connect(f"to{port}", "layer", port)
    spec = get_spec(layer)
    for port in range(len(spec.outputs_for(graph.node("layer").params))):
        graph.create_node("Output", node_id=f"y{port}")
        graph.connect("layer", f"y{port}", source_port=port)
    return graph


def check_case(layer: str, shapes: list[tuple[int, ...]], params: dict, int64: bool = False) -> str:
    """Check one drawn case; returns its outcome for the statistics."""
    spec = get_spec(layer)
    graph = _build_graph(layer, shapes, params, int64)
    analysis = analyze(graph)
    if analysis.ok:
        info = analysis.info("layer")
        assert info.out_shape is not None
        x = _example(shapes[0], params, int64) if len(shapes) == 1 else torch.randn(BATCH, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = compile_graph(graph, device="cpu")
            model.eval()
            with torch.no_grad():
                result = model(x)
        if analysis.warnings and layer in ("RNN", "LSTM", "GRU"):
            # advice on RNN dropout with one layer: torch warns too (its even-kernel "same"
            # warning is issued once per process, so it cannot be checked per case)
            assert any(issubclass(w.category, UserWarning) for w in caught), analysis.warnings
        outs = list(result) if isinstance(result, tuple) else [result]
        assert len(outs) == len(info.out_shapes)
        for port, (out, shape) in enumerate(zip(outs, info.out_shapes)):
            assert tuple(out.shape) == (BATCH, *shape), (
                f"{layer} {params} on {shapes}: analysis says {shape} at output {port}, torch gives "
                f"{tuple(out.shape[1:])}")
            assert (out.dtype == torch.int64) == (info.dtype == "int64")
        # the layer's weights: its submodule's, or the tensor it holds itself (Parameter)
        real = sum(p.numel() for name, p in model.named_parameters() if name.split(".")[0] == "layer")
        assert info.params == real, (
            f"{layer} {params} on {shapes}: analysis counts {info.params} parameters, "
            f"torch has {real}")
        assert analysis.total_params == sum(p.numel() for p in model.parameters())
        if len(shapes) == 1:
            # the direct construction used for rejected cases runs on accepted ones
            assert _torch_outcome(spec, params, shapes, [x]) == "ran"
        return "valid"

    errors = analysis.errors
    assert all(d.code in ("shape", "dtype") and d.node == "layer" for d in errors), errors
    inputs = [_example(s, params, int64) for s in shapes]
    outcome = _torch_outcome(spec, params, shapes, inputs)
    if outcome == "ran":
        rule = _stricter_rule(layer, params, shapes)
        assert rule is not None, (
            f"analysis rejects {layer} {params} on {shapes} ({errors[0].message}) "
            "but torch runs it, and no deliberately stricter rule covers the case")
        return f"stricter: {rule}"
    return f"rejected ({outcome})"


def _assert_enough_valid(layer: str, counts: Counter) -> None:
    total = sum(counts.values())
    assert total > 0
    assert counts["valid"] / total >= MIN_VALID_FRACTION, (
        f"{layer}: only {counts['valid']} of {total} drawn cases were valid: {dict(counts)}")


# -- tests --------------------------------------------------------------------------------
def test_every_layer_type_is_covered():
    every = {s.type for s in layer_types() if s.role is None}
    assert set(SINGLE) | set(MERGES) == every
    assert set(MERGES) >= {"Add", "Concat", "Mul", "MatMul", "MultiheadAttention"}


@pytest.mark.parametrize("layer", SINGLE)
def test_single_input_layer_matches_torch(layer):
    counts: Counter = Counter()

    @settings(max_examples=MAX_EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(case=single_cases(layer))
    def check(case):
        shape, params, int64 = case
        outcome = check_case(layer, [shape], params, int64)
        counts[outcome] += 1

    check()
    _assert_enough_valid(layer, counts)


@pytest.mark.parametrize("layer", MERGES)
def test_merge_layer_matches_torch(layer):
    counts: Counter = Counter()

    @settings(max_examples=MERGE_EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(case=MULTI_INPUT_CASES.get(layer, merge_cases)(layer))
    def check(case):
        shapes, params = case
        outcome = check_case(layer, shapes, params)
        counts[outcome] += 1

    check()
    _assert_enough_valid(layer, counts)


# -- the checker itself must be able to fail ------------------------------------------------
def _patch_spec(monkeypatch, layer: str, **changes) -> None:
    monkeypatch.setitem(registry._REGISTRY, layer, replace(get_spec(layer), **changes))


def test_checker_catches_a_wrong_shape_rule(monkeypatch):
    _patch_spec(monkeypatch, "Linear",
                shape=lambda p, s: (*s[0][:-1], p["out_features"] + 1))
    with pytest.raises(AssertionError, match="analysis says"):
        check_case("Linear", [(4,)], {"out_features": 3, "bias": True})


def test_checker_catches_a_wrong_parameter_count(monkeypatch):
    _patch_spec(monkeypatch, "Conv2d", param_count=lambda p, s, o: 7)
    defaults = {p.name: p.default for p in get_spec("Conv2d").params}
    with pytest.raises(AssertionError, match="parameters"):
        check_case("Conv2d", [(2, 5, 5)], defaults)


def test_checker_catches_a_needless_rejection(monkeypatch):
    def refuse(params, in_shapes):
        raise ShapeError("ReLU: refused")

    _patch_spec(monkeypatch, "ReLU", shape=refuse)
    with pytest.raises(AssertionError, match="torch runs it"):
        check_case("ReLU", [(3, 4)], {})
