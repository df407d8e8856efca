"""Blocks (issue 14, engine): a definition used several times with its own params behaves
exactly like the same layers written out; state_dict keys follow the nesting; problems
inside a use name their path; bad definitions are refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.testing import assert_close

from graph_engine import Graph, GraphFileError, Node, analyze, compile_graph, dumps, loads
from graph_engine.blocks import BlockDefinition, expand
from graph_engine.params import ParamSpec

CONV = {"kernel_size": 3, "padding": 1}


def basic_block() -> BlockDefinition:
    """x → conv1 → relu → conv2 → add(x) → relu: a residual block with `channels` channels."""
    inner = Graph("Basic", template=True)
    inner.add_node(Node("x", "Input", {"shape": [1, 1, 1]}))
    inner.add_node(Node("conv1", "Conv2d", {"out_channels": {"$param": "channels"}, **CONV}))
    inner.add_node(Node("relu1", "ReLU", {}))
    inner.add_node(Node("conv2", "Conv2d", {"out_channels": {"$param": "channels"}, **CONV}))
    inner.add_node(Node("add", "Add", {}))
    inner.add_node(Node("relu2", "ReLU", {}))
    inner.add_node(Node("out", "Output", {}))
    for a, b in [("x", "conv1"), ("conv1", "relu1"), ("relu1", "conv2"), ("conv2", "add"), ("add", "relu2"),
                 ("relu2", "out")]:
        inner.connect(a, b)
    inner.connect("x", "add", port=1)
    return BlockDefinition("Basic", inner, (ParamSpec("channels", "int", 8, "channels", minimum=1),))


def with_blocks(widths: list[int]) -> Graph:
    """stem (widths[0] channels) then one Basic use per width, each fed by a 1×1 conv."""
    graph = Graph("blocks")
    graph.set_block(basic_block())
    graph.create_node("Input", {"shape": [3, 6, 6]}, node_id="image")
    previous = "image"
    for index, width in enumerate(widths):
        graph.create_node("Conv2d", {"out_channels": width, "kernel_size": 1}, node_id=f"proj{index}")
        graph.add_node(Node(f"layer{index}", "Basic", {"channels": width}))
        graph.connect(previous, f"proj{index}")
        graph.connect(f"proj{index}", f"layer{index}")
        previous = f"layer{index}"
    graph.create_node("Flatten", {}, node_id="flat")
    graph.create_node("Output", {}, node_id="out")
    graph.connect(previous, "flat")
    graph.connect("flat", "out")
    return graph


def written_out(widths: list[int]) -> Graph:
    """The same network with each block's layers written by hand (ids use_inner)."""
    graph = Graph("flat")
    graph.create_node("Input", {"shape": [3, 6, 6]}, node_id="image")
    previous = "image"
    for index, width in enumerate(widths):
        use = f"layer{index}"
        graph.create_node("Conv2d", {"out_channels": width, "kernel_size": 1}, node_id=f"proj{index}")
        for name, kind, params in [("conv1", "Conv2d", {"out_channels": width, **CONV}), ("relu1", "ReLU", {}),
                                   ("conv2", "Conv2d", {"out_channels": width, **CONV}), ("add", "Add", {}),
                                   ("relu2", "ReLU", {})]:
            graph.create_node(kind, params, node_id=f"{use}_{name}")
        graph.connect(previous, f"proj{index}")
        for a, b in [("conv1", "relu1"), ("relu1", "conv2"), ("conv2", "add"), ("add", "relu2")]:
            graph.connect(f"{use}_{a}", f"{use}_{b}")
        graph.connect(f"proj{index}", f"{use}_conv1")
        graph.connect(f"proj{index}", f"{use}_add", port=1)
        previous = f"{use}_relu2"
    graph.create_node("Flatten", {}, node_id="flat")
    graph.create_node("Output", {}, node_id="out")
    graph.connect(previous, "flat")
    graph.connect("flat", "out")
    return graph


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3))
def test_uses_compute_what_the_written_out_layers_compute(widths):
    graph, flat = with_blocks(widths), written_out(widths)
    analysis, reference = analyze(graph), analyze(flat)
    assert analysis.ok and reference.ok, analysis.diagnostics
    assert (analysis.total_params, analysis.total_macs) == (reference.total_params, reference.total_macs)
    for index, width in enumerate(widths):
        use, inner = analysis.info(f"layer{index}"), reference.info(f"layer{index}_relu2")
        assert use.out_shape == inner.out_shape == (width, 6, 6)
        assert use.params == sum(reference.info(f"layer{index}_{n}").params for n in ("conv1", "conv2"))
        assert use.field == inner.field
    torch.manual_seed(0)
    compiled, hand = compile_graph(graph, device="cpu").double(), compile_graph(flat, device="cpu").double()
    keys = list(compiled.state_dict())
    assert {k for k in keys if k.startswith("layer0.")} == {
        "layer0.conv1.weight", "layer0.conv1.bias", "layer0.conv2.weight", "layer0.conv2.bias"}
    hand.load_state_dict({k.replace(".", "_", 1) if k.startswith("layer") else k: v
                          for k, v in compiled.state_dict().items()})
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert_close(compiled(x), hand(x), atol=0, rtol=0)


def test_a_file_with_blocks_round_trips_and_keeps_the_references():
    graph = with_blocks([4, 8])
    again = loads(dumps(graph))
    assert list(again.blocks) == ["Basic"]
    assert again.blocks["Basic"].graph.node("conv1").params["out_channels"] == {"$param": "channels"}
    assert dumps(again) == dumps(graph)
    assert analyze(again).ok


def test_problems_inside_a_use_name_its_path_at_the_use():
    graph = with_blocks([4, 8])
    graph.remove_edge(next(e for e in graph.edges if e.target == "layer1"))
    graph.connect("layer0", "layer1")  # 4 channels into a block of 8: the skip's Add cannot sum them
    problems = [d for d in analyze(graph).errors]
    assert [d.node_ids for d in problems] == [("layer1",)]
    assert problems[0].message.startswith("layer1 › add: ")


def test_a_use_with_a_bad_param_or_a_missing_port_is_named():
    graph = with_blocks([4])
    graph.restore_node(Node("layer0", "Basic", {"channels": 0}))
    (problem,) = analyze(graph).errors
    assert problem.node_ids == ("layer0",) and "channels must be" in problem.message
    graph = with_blocks([4])
    graph.connect("image", "layer0", port=1)
    assert any(d.message == "layer0 (Basic) has no input port 1" for d in analyze(graph).errors)


def _file(blocks: dict) -> str:
    import json

    return json.dumps({"format": "rosenblatt-graph", "version": 3, "nodes": [], "edges": [], "blocks": blocks})


def test_recursive_and_malformed_definitions_are_one_line_file_errors():
    inner = {"params": [], "edges": [], "nodes": [{"id": "x", "type": "Input"}, {"id": "b", "type": "B"}]}
    other = {"params": [], "edges": [], "nodes": [{"id": "x", "type": "Input"}, {"id": "a", "type": "A"}]}
    with pytest.raises(GraphFileError, match=r"recursive blocks: (A → B → A|B → A → B)"):
        loads(_file({"A": inner, "B": other}), "rec.json")
    bad_param = {"params": [{"name": "c", "kind": "int", "default": "eight"}], "nodes": [], "edges": []}
    with pytest.raises(GraphFileError, match=r"block 'A': params\[0\]: c must be an integer"):
        loads(_file({"A": bad_param}), "bad.json")
    undeclared = {"params": [], "edges": [], "nodes": [
        {"id": "fc", "type": "Linear", "params": {"out_features": {"$param": "width"}}}]}
    with pytest.raises(GraphFileError, match="block 'A' refers to 'width', which it does not declare"):
        loads(_file({"A": undeclared}), "undeclared.json")
    with pytest.raises(GraphFileError, match="has the name of a layer type"):
        loads(_file({"ReLU": {"params": [], "nodes": [], "edges": []}}), "clash.json")


def test_a_use_of_a_missing_definition_is_named_at_the_node():
    graph = with_blocks([4])
    graph.remove_block("Basic")
    assert [(d.code, d.node) for d in analyze(graph).errors] == [("unknown-type", "layer0")]


def test_nested_blocks_nest_their_module_paths():
    outer = Graph("Pair", template=True)
    outer.add_node(Node("x", "Input", {"shape": [1]}))
    outer.add_node(Node("first", "Basic", {"channels": {"$param": "channels"}}))
    outer.add_node(Node("second", "Basic", {"channels": {"$param": "channels"}}))
    outer.add_node(Node("y", "Output", {}))
    for a, b in [("x", "first"), ("first", "second"), ("second", "y")]:
        outer.connect(a, b)
    graph = with_blocks([4])
    graph.set_block(BlockDefinition("Pair", outer, (ParamSpec("channels", "int", 4, "channels", minimum=1),)))
    graph.restore_node(Node("layer0", "Pair", {"channels": 4}))
    assert analyze(graph).ok, analyze(graph).diagnostics
    keys = list(compile_graph(graph, device="cpu").state_dict())
    assert "layer0.second.conv2.weight" in keys
    assert "layer0.second.conv2" in expand(graph).flat


def _exported(tmp_path, graph, name):
    import importlib.util

    from graph_engine import generate_code

    source = generate_code(graph)
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return source, module


def test_exported_code_has_one_class_per_definition_and_equals_the_compiled_module(tmp_path):
    graph = with_blocks([4, 8, 8])
    source, module = _exported(tmp_path, graph, "with_blocks")
    assert source.count("class Basic(nn.Module):") == 1
    assert "self.layer1 = Basic(channels=8)" in source
    assert "self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)" in source
    torch.manual_seed(0)
    compiled = compile_graph(graph, device="cpu").eval()
    exported = module.Blocks().eval()
    assert sorted(exported.state_dict()) == sorted(compiled.state_dict())
    exported.load_state_dict(compiled.state_dict())
    x = torch.randn(2, 3, 6, 6)
    assert_close(exported(x), compiled(x), atol=0, rtol=0)


def test_uses_that_differ_in_inferred_sizes_pass_them_as_arguments(tmp_path):
    graph = with_blocks([4, 8])
    graph.remove_node("proj1")
    graph.connect("layer0", "layer1")  # a Basic of 8 channels fed 4: its first conv takes 4 in
    graph.remove_edge(next(e for e in graph.edges if e.target == "layer1" and e.source == "layer0"))
    graph.create_node("Conv2d", {"out_channels": 8, "kernel_size": 1}, node_id="widen")
    graph.connect("layer0", "widen")
    graph.connect("widen", "layer1")
    source, module = _exported(tmp_path, graph, "varied")
    compiled = compile_graph(graph, device="cpu").eval()
    exported = module.Blocks().eval()
    exported.load_state_dict(compiled.state_dict())
    x = torch.randn(1, 3, 6, 6)
    assert_close(exported(x), compiled(x), atol=0, rtol=0)


def test_nested_definitions_export_nested_classes(tmp_path):
    outer = Graph("Pair", template=True)
    outer.add_node(Node("x", "Input", {"shape": [1]}))
    outer.add_node(Node("first", "Basic", {"channels": {"$param": "channels"}}))
    outer.add_node(Node("second", "Basic", {"channels": {"$param": "channels"}}))
    outer.add_node(Node("y", "Output", {}))
    for a, b in [("x", "first"), ("first", "second"), ("second", "y")]:
        outer.connect(a, b)
    graph = with_blocks([4, 6])
    graph.set_block(BlockDefinition("Pair", outer, (ParamSpec("channels", "int", 4, "channels", minimum=1),)))
    graph.restore_node(Node("layer0", "Pair", {"channels": 4}))
    graph.restore_node(Node("layer1", "Pair", {"channels": 6}))
    source, module = _exported(tmp_path, graph, "nested")
    assert source.index("class Basic(") < source.index("class Pair(") < source.index("class Blocks(")
    compiled = compile_graph(graph, device="cpu").eval()
    exported = module.Blocks().eval()
    exported.load_state_dict(compiled.state_dict())
    x = torch.randn(2, 3, 6, 6)
    assert_close(exported(x), compiled(x), atol=0, rtol=0)


def test_torchscript_and_onnx_still_export_a_graph_with_blocks(tmp_path):
    from graph_engine.interop import export_onnx, export_torchscript

    graph = with_blocks([4])
    assert export_torchscript(graph, tmp_path / "m.pt").method in ("script", "trace")
    assert export_onnx(graph, tmp_path / "m.onnx").input_names == ("image",)


def test_summary_shows_totals_per_use_and_expands_on_request(capsys):
    from app.cli import main

    golden = str(Path(__file__).resolve().parents[1] / "data" / "golden" / "v3" / "residual_blocks.json")
    assert main(["summary", golden]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["layer1"][:4] == ["layer1", "Basic", "8×8×8", "1,168"]
    assert main(["summary", golden, "--expand"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["layer1.conv1"][:4] == ["layer1.conv1", "Conv2d", "8×8×8", "584"]


# -- review findings: hostile names, output order, argument and class name clashes ------
def _file_with(params: list, nodes_extra: list | None = None) -> str:
    import json

    inner = {"params": params, "edges": [{"source": "x", "target": "fc"}, {"source": "fc", "target": "y"}],
             "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                       {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
                       {"id": "y", "type": "Output"}] + (nodes_extra or [])}
    return json.dumps({"format": "rosenblatt-graph", "version": 3, "nodes": [], "edges": [], "blocks": {"B": inner}})


@pytest.mark.parametrize("name", ["self", "class", "nn", "x y", "a=print('PWNED')", "super"])
def test_a_block_param_name_that_would_reach_code_badly_is_refused_at_load(name):
    with pytest.raises(GraphFileError, match="cannot name a block param"):
        loads(_file_with([{"name": name, "kind": "int", "default": 1}]))


def test_block_param_bounds_must_be_numbers():
    with pytest.raises(GraphFileError, match="'minimum' and 'maximum' must be numbers"):
        loads(_file_with([{"name": "p", "kind": "padding", "default": "same", "minimum": "x"}]))


def _two_outputs_block() -> BlockDefinition:
    inner = Graph("TwoWays", template=True)
    inner.add_node(Node("x", "Input", {"shape": [4]}))
    inner.add_node(Node("fc", "Linear", {"out_features": 5}))
    inner.add_node(Node("wide", "Output", {}))
    inner.add_node(Node("same", "Output", {}))
    inner.connect("x", "same")  # the second Output is connected first: order must be the file's
    inner.connect("x", "fc")
    inner.connect("fc", "wide")
    return BlockDefinition("TwoWays", inner)


def test_exported_block_outputs_keep_the_file_order(tmp_path):
    graph = Graph("ports")
    graph.set_block(_two_outputs_block())
    graph.create_node("Input", {"shape": [4]}, node_id="x")
    graph.add_node(Node("both", "TwoWays", {}))
    graph.create_node("Output", {}, node_id="second")
    graph.create_node("Output", {}, node_id="first")
    graph.connect("x", "both")
    graph.connect("both", "first", source_port=0)
    graph.connect("both", "second", source_port=1)
    torch.manual_seed(0)
    compiled = compile_graph(graph, device="cpu").eval()
    _source, module = _exported(tmp_path, graph, "ports")
    exported = module.Ports().eval()
    exported.load_state_dict(compiled.state_dict())
    x = torch.randn(2, 4)
    got, expected = exported(x), compiled(x)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in expected] == [(2, 4), (2, 5)]
    for a, b in zip(got, expected):
        assert_close(a, b, atol=0, rtol=0)


def test_two_blocks_whose_names_fold_alike_get_two_classes(tmp_path):
    graph = with_blocks([4])
    lower = basic_block()
    graph.set_block(BlockDefinition("basic", lower.graph, lower.params))
    graph.create_node("Conv2d", {"out_channels": 6, "kernel_size": 1}, node_id="proj9")
    graph.add_node(Node("layer9", "basic", {"channels": 6}))
    graph.remove_edge(next(e for e in graph.edges if e.target == "flat"))
    graph.connect("layer0", "proj9")
    graph.connect("proj9", "layer9")
    graph.connect("layer9", "flat")
    source, module = _exported(tmp_path, graph, "folded")
    assert "class Basic(" in source and "class Basic_2(" in source
    compiled = compile_graph(graph, device="cpu").eval()
    exported = module.Blocks().eval()
    exported.load_state_dict(compiled.state_dict())
    x = torch.randn(1, 3, 6, 6)
    assert_close(exported(x), compiled(x), atol=0, rtol=0)


def test_a_definitions_layers_get_their_defaults_and_keep_references():
    definition = basic_block()
    conv = definition.graph.node("conv1")
    assert conv.params["out_channels"] == {"$param": "channels"}
    assert conv.params["stride"] == 1 and conv.params["dilation"] == 1 and conv.params["bias"] is True
    assert definition.graph.node("x").params["dtype"] == "float32"


def test_a_v2_files_own_blocks_key_is_kept_and_never_read_as_definitions():
    text = ('{"format": "rosenblatt-graph", "version": 2, "name": "n", "blocks": ["not", "definitions"], '
            '"nodes": [{"id": "image", "type": "Input", "params": {"shape": [4]}}, '
            '{"id": "out", "type": "Output", "params": {}}], "edges": [{"source": "image", "target": "out"}]}')
    graph = loads(text)
    assert graph.blocks == {} and graph.extra == {"v2_blocks": ["not", "definitions"]}
    again = loads(dumps(graph))  # saved as v3: still the same data, still no definitions
    assert again.blocks == {} and again.extra == graph.extra and dumps(again) == dumps(graph)


def test_a_use_looks_like_a_layer_with_the_definitions_ports_and_params():
    from graph_engine.block_face import checked_params, definition_analysis, first_use, spec_of

    graph = with_blocks([4, 6])
    spec = spec_of(graph, "Basic")
    assert [p.name for p in spec.input_ports] == ["x"] and [p.name for p in spec.outputs] == ["out"]
    assert [p.name for p in spec.params] == ["channels"] and spec_of(graph, "Conv2d").type == "Conv2d"
    assert checked_params(graph, graph.node("layer1"), {"channels": 5}, False) == {"channels": 5}
    with pytest.raises(ValueError, match="channels"):
        checked_params(graph, graph.node("layer1"), {"channels": 0}, False)
    definition = graph.blocks["Basic"]
    conv = definition.graph.node("conv1")
    kept = checked_params(graph, conv, {"kernel_size": 5}, True)
    assert kept["out_channels"] == {"$param": "channels"} and kept["kernel_size"] == 5
    # the inside, as the first use sees it
    assert first_use(graph, "Basic") == "layer0"
    inside = definition_analysis(analyze(graph), "Basic", definition.graph)
    assert inside.info("conv1").out_shape == (4, 6, 6)
    assert inside.info("conv1").params == analyze(graph).flat.info("layer0.conv1").params


def test_the_vgg_template_is_three_uses_of_one_stage_block():
    from graph_engine import generate_code, load_template

    graph = load_template("vgg_style")
    assert [n.id for n in graph if n.type == "VGGStage"] == ["stage1", "stage2", "stage3"]
    analysis = analyze(graph)
    assert analysis.ok and analysis.total_params == 815_018  # the hand-written stages' count
    module = compile_graph(graph, device="cpu").eval()
    assert "stage2.conv1.weight" in module.state_dict()
    with torch.no_grad():
        assert module(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert "class VGGStage(nn.Module)" in generate_code(graph)
