"""The operations windowed attention needs (Swin, MaxViT), each one registry declaration: each
compiled equals torch's own eager code in float64 (outputs and gradients), and a graph using
every one of them exports to Python and to ONNX that compute what the compiled module does; a
Constant is saved in the file exactly and held as a buffer under its node's id."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch.nn import functional as F
from torch.testing import assert_close

from graph_engine import Graph, analyze, compile_graph, generate_code, load_graph, save_graph
from tests.engine.test_ops import BATCH, _outputs, layer_graph

MASK = [0.0, -100.0, 0.25, 1e-7, -3.5, 2.0]

CASES = [
    ("Roll", {"shifts": [-1, 2], "dims": [1, 2]}, [(2, 4, 5)], lambda x: torch.roll(x, (-1, 2), (2, 3))),
    ("Roll", {"shifts": [3], "dims": [-1]}, [(6,)], lambda x: torch.roll(x, 3, -1)),
    ("Pad", {"pad": [0, 0, 0, 1, 0, 2]}, [(3, 4, 5)], lambda x: F.pad(x, (0, 0, 0, 1, 0, 2))),
    ("Pad", {"pad": [1, 2], "value": -1.5}, [(3, 4)], lambda x: F.pad(x, (1, 2), value=-1.5)),
    ("Scale", {"factor": 0.125}, [(3, 4)], lambda x: x * 0.125),
    ("Exp", {}, [(3, 4)], torch.exp),
    ("Clamp", {"max": 0.5}, [(3, 4)], lambda x: torch.clamp(x, max=0.5)),
    ("Clamp", {"min": -0.2, "max": 0.3}, [(7,)], lambda x: torch.clamp(x, -0.2, 0.3)),
    ("Normalize", {"dim": -1}, [(2, 3, 4)], lambda x: F.normalize(x, dim=-1)),
    ("Normalize", {"dim": 0, "p": 1.0, "eps": 1e-3}, [(3, 4)], lambda x: F.normalize(x, p=1.0, dim=1, eps=1e-3)),
    ("Constant", {"shape": [2, 3], "values": MASK}, [(5,)],
     lambda x: torch.tensor(MASK, dtype=torch.float64).reshape(1, 2, 3).expand(x.shape[0], -1, -1)),
    ("IndexSelect", {"dim": 0, "index": [2, 0, 2, 1]}, [(3, 5)], lambda x: x[:, [2, 0, 2, 1]]),
    ("IndexSelect", {"dim": -1, "index": [-1, 0]}, [(2, 3, 4)], lambda x: x[..., [-1, 0]]),
    ("Reshape", {"shape": [2, 1, 3, 1, 2]}, [(3, 4)], lambda x: x.reshape(-1, 2, 1, 3, 1, 2)),
]


@pytest.mark.parametrize("layer,params,shapes,eager", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_compiled_operation_equals_torch_in_float64_with_gradients(layer, params, shapes, eager):
    graph = layer_graph(layer, params, shapes)
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    model = compile_graph(graph, device="cpu").double().eval()
    inputs = [torch.randn(BATCH, *s, dtype=torch.float64, requires_grad=True) for s in shapes]
    got, expected = _outputs(model(*inputs)), _outputs(eager(*inputs))
    for out, ref, shape in zip(got, expected, analysis.info("layer").out_shapes, strict=True):
        assert tuple(out.shape) == (BATCH, *shape)
        assert_close(out, ref, atol=1e-12, rtol=0)
    assert analysis.info("layer").params == 0
    if layer == "Constant":
        return
    seed = torch.randn_like(got[0])
    (a,) = torch.autograd.grad((got[0] * seed).sum(), inputs)
    (b,) = torch.autograd.grad((expected[0] * seed).sum(), inputs)
    assert_close(a, b, atol=1e-12, rtol=0)


def test_every_window_operation_is_in_the_cases():
    assert {"Roll", "Pad", "Scale", "Exp", "Clamp", "Normalize", "Constant", "IndexSelect"} <= {c[0] for c in CASES}
    assert {"Roll", "Pad", "Scale", "Exp", "Clamp", "Normalize", "Constant", "IndexSelect"} <= {
        n.type for n in window_zoo()}


def test_shapes_and_messages():
    def message(layer, params, shape):
        return analyze(layer_graph(layer, params, [shape])).errors[0].message

    assert "2 shifts for 1 dims" in message("Roll", {"shifts": [1, 2], "dims": [0]}, (3, 4))
    assert "two numbers (before, after) per dim" in message("Pad", {"pad": [1, 1, 1]}, (3, 4))
    assert "holds 6 values, 2 are given" in message("Constant", {"shape": [2, 3], "values": [1, 2]}, (3,))
    assert "index 5 is out of range for size 3" in message("IndexSelect", {"dim": 0, "index": [5]}, (3, 2))
    info = analyze(layer_graph("Pad", {"pad": [1, 2, 3, 4]}, [(2, 5, 5)])).info("layer")
    assert info.out_shape == (2, 12, 8)


def test_pad_moves_the_receptive_field_by_what_it_puts_before():
    graph = layer_graph("Pad", {"pad": [1, 0, 2, 0]}, [(1, 8, 8)])
    graph.create_node("Conv2d", {"out_channels": 1, "kernel_size": 3}, node_id="conv")
    graph.remove_edge(next(e for e in graph.edges if e.source == "layer"))
    graph.connect("layer", "conv")
    graph.connect("conv", "y0")
    field = analyze(graph).info("conv").field
    plain = layer_graph("Conv2d", {"out_channels": 1, "kernel_size": 3}, [(1, 8, 8)])
    base = analyze(plain).info("layer").field
    assert [a.size for a in field] == [a.size for a in base]
    assert [a.start for a in field] == [base[0].start - 2, base[1].start - 1]


def window_zoo() -> Graph:
    """One graph through every window operation: (C=4, H=6, W=6) -> pad, roll, windows as
    (4 windows, 9 positions, 4) -> cosine scores, a learned table's bias by index, a mask."""
    g = Graph("WindowZoo")
    g.create_node("Input", {"shape": [6, 5, 4]}, node_id="img")  # (H, W, C), as Swin holds it
    g.create_node("Pad", {"pad": [0, 0, 0, 1]}, node_id="pad")  # -> (6, 6, 4)
    g.create_node("Roll", {"shifts": [-1, -1], "dims": [0, 1]}, node_id="roll")
    g.create_node("Reshape", {"shape": [2, 3, 2, 3, 4]}, node_id="split")
    g.create_node("Permute", {"dims": [0, 2, 1, 3, 4]}, node_id="order")
    g.create_node("Reshape", {"shape": [4, 9, 4]}, node_id="windows")
    g.create_node("Normalize", {"dim": -1}, node_id="unit")
    g.create_node("Transpose", {"dim0": -2, "dim1": -1}, node_id="keys")
    g.create_node("MatMul", {}, node_id="scores")
    g.create_node("Scale", {"factor": 0.5}, node_id="scaled")
    g.create_node("Parameter", {"shape": [25, 1], "init": "normal", "std": 1.0}, node_id="table")
    g.create_node("IndexSelect", {"dim": 0, "index": [(i * 7 + j) % 25 for i in range(9) for j in range(9)]},
                  node_id="bias_rows")
    g.create_node("Reshape", {"shape": [1, 9, 9]}, node_id="bias")
    g.create_node("Expand", {"shape": [4, 9, 9]}, node_id="bias_all")
    g.create_node("Add", {}, node_id="biased")
    g.create_node("Constant", {"shape": [4, 9, 9], "values": [float(-100 * ((i // 9 + i) % 3 == 0))
                                                            for i in range(324)]}, node_id="mask")
    g.create_node("Add", {}, node_id="masked")
    g.create_node("Clamp", {"min": -50.0, "max": 50.0}, node_id="capped")
    g.create_node("Exp", {}, node_id="weights")
    g.create_node("Output", {}, node_id="out")
    for a, b in [("img", "pad"), ("pad", "roll"), ("roll", "split"), ("split", "order"), ("order", "windows"),
                 ("windows", "unit"), ("unit", "keys"), ("unit", "scores"), ("scores", "scaled"),
                 ("img", "table"), ("table", "bias_rows"), ("bias_rows", "bias"), ("bias", "bias_all"),
                 ("scaled", "biased"), ("windows", "mask"), ("biased", "masked"), ("masked", "capped"),
                 ("capped", "weights"), ("weights", "out")]:
        g.connect(a, b)
    g.connect("keys", "scores", 1)
    g.connect("bias_all", "biased", 1)
    g.connect("mask", "masked", 1)
    return g


def test_window_graph_saves_exactly_and_exports_to_python_and_onnx(tmp_path):
    graph = window_zoo()
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    path = tmp_path / "zoo.json"
    save_graph(graph, path)
    again = load_graph(path)
    assert again.node("mask").params["values"] == graph.node("mask").params["values"]
    torch.manual_seed(0)
    compiled = compile_graph(again, device="cpu").double().eval()
    assert set(compiled.state_dict()) == {"table", "mask"}  # the constant is a buffer, saved with weights
    assert not compiled.mask.requires_grad and compiled.table.requires_grad
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64)

    source = generate_code(graph)
    assert "torch.roll(" in source and "F.pad(" in source and "nn.Buffer(torch.tensor([" in source
    file = tmp_path / "zoo.py"
    file.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("window_zoo", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.WindowZoo().double().eval()
    exported.load_state_dict(compiled.state_dict(), strict=True)
    with torch.no_grad():
        assert_close(exported(x), compiled(x), atol=0, rtol=0)

    ort = pytest.importorskip("onnxruntime")
    from graph_engine.interop import export_onnx

    torch.manual_seed(0)
    result = export_onnx(graph, tmp_path / "zoo.onnx")
    torch.manual_seed(0)
    reference = compile_graph(graph, device="cpu").eval()
    session = ort.InferenceSession(str(tmp_path / "zoo.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = reference(x.float())
    (got,) = session.run(None, {result.input_names[0]: x.float().numpy()})
    assert_close(torch.from_numpy(got), expected, atol=1e-5, rtol=1e-4)
