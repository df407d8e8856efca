"""The operations of issue 11, each one registry declaration: compiled, each equals torch's own
eager code in float64 (outputs and gradients); Chunk's ports follow its params; a Parameter is
a tensor in the state_dict under the node's id; exported code using every new operation runs
standalone and equals the compiled module."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F
from torch.testing import assert_close

from graph_engine import Graph, analyze, compile_graph, generate_code, get_spec
from graph_engine.source_text import py_index

BATCH = 3


def layer_graph(layer: str, params: dict, shapes: list[tuple[int, ...]]) -> Graph:
    """Inputs x0, x1 ... (one per shape) -> layer -> one Output per output port it has."""
    graph = Graph(f"{layer} alone")
    node = graph.create_node(layer, params, node_id="layer")
    for port, shape in enumerate(shapes):
        graph.create_node("Input", {"shape": list(shape)}, node_id=f"x{port}")
        graph.connect(f"x{port}", "layer", port)
    for port in range(len(get_spec(layer).outputs_for(node.params))):
        graph.create_node("Output", {}, node_id=f"y{port}")
        graph.connect("layer", f"y{port}", source_port=port)
    return graph


def _attention(p, q, k, v, mask=None):
    """torch's MultiheadAttention with the compiled node's own weights (functional_call)."""
    kdim, vdim = k.shape[-1], v.shape[-1]
    reference = nn.MultiheadAttention(6, 2, kdim=kdim, vdim=vdim, batch_first=True).double()
    weights = {name.removeprefix("layer."): tensor for name, tensor in p.items()}
    kwargs = {} if mask is None else {"attn_mask": mask.repeat_interleave(2, 0)}
    return functional_call(reference, weights, (q, k, v), kwargs)


def _w(p, name):
    return p[f"layer.{name}"]


#: layer, params, sample shapes of the inputs, torch's eager code: (parameters by name, *inputs)
CASES = [
    ("Mul", {}, [(4, 3, 3), (4, 1, 1)], lambda p, a, b: a * b),
    ("MatMul", {}, [(2, 3, 4), (2, 4, 5)], lambda p, a, b: a @ b),
    ("Permute", {"dims": [1, 2, 0]}, [(2, 3, 4)], lambda p, x: x.permute(0, 2, 3, 1)),
    ("Transpose", {"dim0": 0, "dim1": -1}, [(2, 3, 4)], lambda p, x: x.transpose(1, -1)),
    ("Chunk", {"chunks": 3, "dim": 1}, [(2, 7, 2)], lambda p, x: x.chunk(3, dim=2)),
    ("Split", {"split_size_or_sections": [1, 4, 2], "dim": 0}, [(7, 3)],
     lambda p, x: x.split([1, 4, 2], dim=1)),
    ("Mean", {"dim": [1, 2], "keepdim": True}, [(3, 4, 5)], lambda p, x: x.mean((2, 3), keepdim=True)),
    ("Sum", {"dim": [-1, 0]}, [(3, 4, 2)], lambda p, x: x.sum((-1, 1))),
    ("Select", {"dim": 0, "index": 0}, [(5, 6)], lambda p, x: x[:, 0]),
    ("Select", {"dim": -1, "index": -2}, [(5, 6)], lambda p, x: x[..., -2]),
    ("Slice", {"dim": 1, "start": 1, "end": -1, "step": 2}, [(3, 8)], lambda p, x: x[:, :, 1:-1:2]),
    ("Slice", {"dim": -2, "start": -3}, [(4, 5, 2)], lambda p, x: x[..., -3:, :]),
    ("Expand", {"shape": [-1, 4, 5]}, [(3, 1, 1)], lambda p, x: x.expand(-1, -1, 4, 5)),
    ("Parameter", {"shape": [2, 3], "init": "normal", "std": 1.0}, [(5,)],
     lambda p, x: p["layer"].expand(x.shape[0], -1, -1)),
    ("ReLU6", {}, [(9,)], lambda p, x: x.clamp(0, 6)),
    ("SiLU", {}, [(9,)], lambda p, x: x * torch.sigmoid(x)),
    ("Hardswish", {}, [(9,)], lambda p, x: x * F.relu6(x + 3) / 6),
    # torch's hardsigmoid backward multiplies by a float32 1/6: its own function is the reference
    ("Hardsigmoid", {}, [(9,)], lambda p, x: F.hardsigmoid(x)),
    ("ELU", {"alpha": 0.5}, [(9,)], lambda p, x: torch.where(x > 0, x, 0.5 * torch.expm1(x))),
    ("Identity", {}, [(2, 3)], lambda p, x: x),
    ("GroupNorm", {"num_groups": 2}, [(4, 3, 3)],
     lambda p, x: F.group_norm(x, 2, _w(p, "weight"), _w(p, "bias"))),
    ("InstanceNorm2d", {"affine": True}, [(3, 4, 4)],
     lambda p, x: F.instance_norm(x, weight=_w(p, "weight"), bias=_w(p, "bias"))),
    ("LayerNorm", {"channels_first": True}, [(4, 3, 3)],
     lambda p, x: F.layer_norm(x.permute(0, 2, 3, 1), (4,), _w(p, "weight"), _w(p, "bias"))
     .permute(0, 3, 1, 2)),
    ("LayerNorm", {}, [(4, 3)], lambda p, x: F.layer_norm(x, (3,), _w(p, "weight"), _w(p, "bias"))),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [(2, 8, 8)],
     lambda p, x: F.max_pool2d(x, 3, 2, ceil_mode=True)),
    ("MaxPool1d", {"kernel_size": 2, "ceil_mode": True}, [(2, 7)],
     lambda p, x: F.max_pool1d(x, 2, ceil_mode=True)),
    ("AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False}, [(2, 8, 7)],
     lambda p, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("AdaptiveMaxPool2d", {"output_size": [2, 3]}, [(2, 5, 7)],
     lambda p, x: F.adaptive_max_pool2d(x, (2, 3))),
    ("StochasticDepth", {"p": 0.3, "mode": "batch"}, [(3, 4)], lambda p, x: x),
    ("MultiheadAttention", {"embed_dim": 6, "num_heads": 2}, [(4, 6), (5, 6), (5, 6)], _attention),
    ("MultiheadAttention", {"embed_dim": 6, "num_heads": 2}, [(4, 6), (5, 3), (5, 2), (4, 5)], _attention),
]


def _outputs(value) -> list[torch.Tensor]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


@pytest.mark.parametrize("layer,params,shapes,eager", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_compiled_operation_equals_torch_in_float64_with_gradients(layer, params, shapes, eager):
    graph = layer_graph(layer, params, shapes)
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    torch.manual_seed(0)
    model = compile_graph(graph, device="cpu").double().eval()
    for tensor in model.parameters():  # away from the 1/0 initial values, so they matter
        with torch.no_grad():
            tensor.add_(torch.randn_like(tensor) * 0.3)
    inputs = [torch.randn(BATCH, *s, dtype=torch.float64, requires_grad=True) for s in shapes]
    weights = dict(model.named_parameters())
    got, expected = _outputs(model(*inputs)), _outputs(eager(weights, *inputs))
    assert len(got) == len(expected) == len(analysis.info("layer").out_shapes)
    for out, ref, shape in zip(got, expected, analysis.info("layer").out_shapes):
        assert tuple(out.shape) == (BATCH, *shape)
        assert_close(out, ref, atol=1e-12, rtol=0)
    assert analysis.info("layer").params == sum(t.numel() for t in weights.values())
    leaves = inputs + list(weights.values())
    seeds = [torch.randn_like(out) for out in got]

    def grads(outs):
        total = sum((o * s).sum() for o, s in zip(outs, seeds))
        return torch.autograd.grad(total, leaves, allow_unused=True)

    for a, b in zip(grads(got), grads(expected)):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b, atol=1e-12, rtol=0)


def test_every_new_operation_is_in_the_cases():
    new = {"Mul", "MatMul", "Permute", "Transpose", "Chunk", "Split", "Mean", "Sum", "Select", "Slice",
           "Expand", "Parameter", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "ELU", "Identity",
           "GroupNorm", "InstanceNorm2d", "AdaptiveMaxPool2d", "StochasticDepth", "MultiheadAttention"}
    assert new <= {case[0] for case in CASES}
    assert new <= set(ZOO_TYPES)


# -- Chunk and Split: as many output ports as their params say --------------------------------
def test_chunk_has_as_many_outputs_as_chunks_and_refuses_edges_from_the_others():
    graph = layer_graph("Chunk", {"chunks": 2, "dim": 0}, [(6, 2)])
    assert analyze(graph).info("layer").out_shapes == ((3, 2), (3, 2))
    graph.create_node("Output", {}, node_id="extra")
    graph.connect("layer", "extra", source_port=2)
    (problem,) = [d for d in analyze(graph).errors if d.node == "extra"]
    assert problem.code == "no-such-output"
    assert problem.message == "layer (Chunk) has no output port 2; its outputs: 0 (out0), 1 (out1)"
    graph.set_params("layer", {"chunks": 3})  # now port 2 exists
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    assert analysis.info("extra").out_shape == (2, 2)


def test_chunk_refuses_sizes_torch_would_cut_into_fewer_pieces():
    graph = layer_graph("Chunk", {"chunks": 4, "dim": 0}, [(5,)])
    (problem,) = analyze(graph).errors
    assert problem.message == ("Chunk: size 5 gives 3 chunks of 2, not 4 (torch returns fewer chunks "
                               "than asked); use Split for uneven pieces")


def test_split_sections_must_add_up_and_only_used_outputs_are_exported():
    graph = layer_graph("Split", {"split_size_or_sections": [2, 2], "dim": 1}, [(3, 5)])
    (problem,) = analyze(graph).errors
    assert "the sections [2, 2] add up to 4, but the dim has size 5" in problem.message
    graph = Graph("one piece")
    graph.create_node("Input", {"shape": [3, 5]}, node_id="x")
    graph.create_node("Split", {"split_size_or_sections": [2, 3], "dim": 1}, node_id="qk")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "qk")
    graph.connect("qk", "y", source_port=1)
    source = generate_code(graph)
    assert "qk = torch.split(x, (2, 3), dim=2)" in source
    assert "qk_out1 = qk[1]" in source and "qk_out0" not in source


# -- Parameter ----------------------------------------------------------------------------------
def _token_graph(init: str = "zeros", std: float = 0.02) -> Graph:
    """x (5, 6) + a learned positional embedding; a class token joined before the sequence."""
    graph = Graph("Tokens")
    graph.create_node("Input", {"shape": [5, 6]}, node_id="x")
    graph.create_node("Parameter", {"shape": [5, 6], "init": init, "std": std}, node_id="pos_embedding")
    graph.create_node("Parameter", {"shape": [1, 6]}, node_id="class_token")
    graph.create_node("Add", {}, node_id="add")
    graph.create_node("Concat", {"dim": 0}, node_id="tokens")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "pos_embedding")
    graph.connect("x", "add")
    graph.connect("pos_embedding", "add", 1)
    graph.connect("x", "class_token")
    graph.connect("class_token", "tokens")
    graph.connect("add", "tokens", 1)
    graph.connect("tokens", "y")
    return graph


def test_a_parameter_is_a_state_dict_tensor_named_by_its_node_as_pytorch_code_holds_it():
    graph = _token_graph()
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    assert analysis.info("tokens").out_shape == (6, 6)
    assert analysis.info("pos_embedding").params == 30 and analysis.total_params == 36
    model = compile_graph(graph, device="cpu")
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {"pos_embedding": (1, 5, 6),
                                                             "class_token": (1, 1, 6)}
    assert isinstance(model.pos_embedding, nn.Parameter)
    source = generate_code(graph)
    assert "self.pos_embedding = nn.Parameter(torch.zeros(1, 5, 6))  # -> 5×6" in source
    assert "pos_embedding = self.pos_embedding.expand(x.size(0), -1, -1)" in source
    x = torch.randn(4, 5, 6)
    out = model(x)
    assert_close(out[:, 1:], x)
    out.sum().backward()
    assert_close(model.pos_embedding.grad, torch.full((1, 5, 6), 4.0))  # summed over the batch
    assert_close(model.class_token.grad, torch.full((1, 1, 6), 4.0))


@pytest.mark.parametrize("init,std", [("zeros", 0.02), ("normal", 0.5), ("uniform", 0.02)])
def test_parameter_inits(init, std):
    graph = _token_graph(init, std)
    graph.set_params("pos_embedding", {"shape": [100, 100]})
    graph.set_params("x", {"shape": [100, 100]})
    graph.set_params("class_token", {"shape": [1, 100]})
    torch.manual_seed(0)
    values = compile_graph(graph, device="cpu").pos_embedding.detach()
    if init == "zeros":
        assert not values.any()
    elif init == "normal":
        assert abs(values.std().item() - std) < 0.02 and abs(values.mean().item()) < 0.02
    else:
        assert values.min() >= 0 and values.max() < 1 and abs(values.mean().item() - 0.5) < 0.02
    expected = {"zeros": "torch.zeros(1, 100, 100)", "normal": "torch.empty(1, 100, 100).normal_(std=0.5)",
                "uniform": "torch.rand(1, 100, 100)"}[init]
    assert f"nn.Parameter({expected})" in generate_code(graph)


# -- StochasticDepth while training ----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_drops_whole_samples_or_the_whole_batch_while_training(mode):
    graph = layer_graph("StochasticDepth", {"p": 0.25, "mode": mode}, [(3, 4)])
    model = compile_graph(graph, device="cpu").train()
    torch.manual_seed(0)
    x = torch.rand(4000, 3, 4) + 1
    out = model(x)
    kept = (out != 0).flatten(1).all(1)
    assert ((out == 0).flatten(1).all(1) | kept).all()  # each sample: all kept or all dropped
    assert_close(out[kept], x[kept] / 0.75)
    if mode == "row":
        assert abs(kept.float().mean().item() - 0.75) < 0.03
    else:
        assert kept.all() or not kept.any()
    assert_close(model.eval()(x), x)


# -- MultiheadAttention's ports ----------------------------------------------------------------------
def test_attention_checks_its_ports_with_messages_at_the_node():
    def problem(shapes, **params):
        errors = analyze(layer_graph("MultiheadAttention", {"embed_dim": 6, "num_heads": 2, **params},
                                     shapes)).errors
        return errors[0].message if errors else None

    assert problem([(4, 6), (5, 3), (5, 2)]) is None
    assert problem([(4, 6), (5, 3), (5, 2), (4, 5)]) is None
    assert "attn_mask must be (L, S) = 4×5, got 5×4" in problem([(4, 6), (5, 6), (5, 6), (5, 4)])
    assert "the query has 6 features but embed_dim is 8; set embed_dim to 6" in \
        problem([(4, 6), (5, 6), (5, 6)], embed_dim=8)
    assert "num_heads 4 must divide embed_dim 6" in problem([(4, 6), (5, 6), (5, 6)], num_heads=4)
    assert "key has 5 steps but value has 3" in problem([(4, 6), (5, 6), (3, 6)])


# -- exported code: every new operation, standalone --------------------------------------------------
def zoo() -> Graph:
    """One graph that uses every new operation, with three Inputs and four Outputs."""
    graph = Graph("Operation zoo")
    nodes = [
        ("img", "Input", {"shape": [4, 9, 9]}), ("seq", "Input", {"shape": [5, 6]}),
        ("mask", "Input", {"shape": [5, 5]}),
        ("maxpool", "MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
        ("avgpool", "AvgPool2d", {"kernel_size": 3, "stride": 1, "padding": 1, "ceil_mode": True,
                                  "count_include_pad": False}),
        ("gn", "GroupNorm", {"num_groups": 2}), ("inorm", "InstanceNorm2d", {"affine": True}),
        ("ln2d", "LayerNorm", {"channels_first": True}), ("relu6", "ReLU6", {}), ("silu", "SiLU", {}),
        ("hswish", "Hardswish", {}), ("elu", "ELU", {"alpha": 0.7}), ("same", "Identity", {}),
        ("drop_path", "StochasticDepth", {"p": 0.2}), ("amax", "AdaptiveMaxPool2d", {"output_size": 2}),
        ("squeeze", "Mean", {"dim": [1, 2], "keepdim": True}), ("gate", "Hardsigmoid", {}),
        ("scale", "Mul", {}), ("halves", "Chunk", {"chunks": 2, "dim": 0}),
        ("hwc", "Permute", {"dims": [1, 2, 0]}), ("pos", "Parameter", {"shape": [5, 6], "init": "normal"}),
        ("embed", "Add", {}), ("attn", "MultiheadAttention", {"embed_dim": 6, "num_heads": 3}),
        ("keys", "Transpose", {"dim0": 0, "dim1": 1}), ("scores", "MatMul", {}),
        ("head", "Slice", {"dim": 1, "start": 0, "end": 4}), ("first", "Select", {"dim": 0, "index": 0}),
        ("parts", "Split", {"split_size_or_sections": [2, 4], "dim": 1}),
        ("total", "Sum", {"dim": [0], "keepdim": True}), ("wide", "Expand", {"shape": [3, -1]}),
        ("out_img", "Output", {}), ("out_first", "Output", {}), ("out_wide", "Output", {}),
        ("out_weights", "Output", {}),
    ]
    for node_id, layer, params in nodes:
        graph.create_node(layer, params, node_id=node_id)
    chain = ["img", "maxpool", "avgpool", "gn", "inorm", "ln2d", "relu6", "silu", "hswish", "elu", "same",
             "drop_path", "amax"]
    for a, b in zip(chain, chain[1:]):
        graph.connect(a, b)
    edges = [("amax", "squeeze"), ("squeeze", "gate"), ("amax", "scale"), ("gate", "scale", 1),
             ("scale", "halves"), ("halves", "hwc", 0, 1), ("hwc", "out_img"),
             ("seq", "pos"), ("seq", "embed"), ("pos", "embed", 1),
             ("embed", "attn"), ("embed", "attn", 1), ("embed", "attn", 2), ("mask", "attn", 3),
             ("attn", "keys"), ("attn", "scores"), ("keys", "scores", 1), ("scores", "head"),
             ("head", "first"), ("first", "out_first"), ("attn", "parts"), ("parts", "total", 0, 1),
             ("total", "wide"), ("wide", "out_wide"), ("attn", "out_weights", 0, 1)]
    for source, target, *ports in edges:
        port, source_port = (ports + [0, 0])[:2]
        graph.connect(source, target, port, source_port)
    return graph


ZOO_TYPES = [node.type for node in zoo()]


def test_exported_code_with_every_new_operation_runs_standalone_and_equals_the_compiled_module(tmp_path):
    graph = zoo()
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    assert analysis.info("out_wide").out_shape == (3, 4)
    source = generate_code(graph)
    for line in ("first = head[:, 0]", "head = scores[:, :, :4]", "attn = self.attn(embed, embed, embed, "
                 "attn_mask=mask.repeat_interleave(3, 0))", "self.drop_path = nn.Dropout1d(0.2)"):
        assert line in source, source
    path = tmp_path / "zoo.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("zoo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs only with torch: the file imports nothing else
    exported = module.OperationZoo().double().eval()
    torch.manual_seed(1)
    compiled = compile_graph(graph, device="cpu").double().eval()
    exported.load_state_dict(compiled.state_dict(), strict=True)
    inputs = (torch.randn(2, 4, 9, 9, dtype=torch.float64), torch.randn(2, 5, 6, dtype=torch.float64),
              torch.randn(2, 5, 5, dtype=torch.float64))
    with torch.no_grad():
        for a, b in zip(exported(*inputs), compiled(*inputs), strict=True):
            assert_close(a, b, atol=0, rtol=0)


def test_index_text_reads_as_written():
    assert py_index(0) == "0" and py_index(-1) == "-1"
    assert py_index((slice(None), 0)) == ":, 0"
    assert py_index((slice(None), slice(1, -1, 2))) == ":, 1:-1:2"
    assert py_index((Ellipsis, slice(-3, None), slice(None))) == "..., -3:, :"
    assert py_index("key") == '"key"'
    with pytest.raises(TypeError):
        py_index((slice(None, "x"),))


def test_onnx_export_of_every_new_operation_equals_the_compiled_module(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from graph_engine.interop import export_onnx

    graph = zoo()
    torch.manual_seed(0)
    compiled = compile_graph(graph, device="cpu").eval()
    inputs = (torch.randn(2, 4, 9, 9), torch.randn(2, 5, 6), torch.randn(2, 5, 5))
    with torch.no_grad():
        expected = compiled(*inputs)
    torch.manual_seed(0)  # the exporter compiles the graph again: the same initial weights
    result = export_onnx(graph, tmp_path / "zoo.onnx")
    session = ort.InferenceSession(str(tmp_path / "zoo.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {name: x.numpy() for name, x in zip(result.input_names, inputs)})
    for a, b in zip(got, expected, strict=True):
        assert_close(torch.from_numpy(a), b, atol=1e-5, rtol=1e-4)
