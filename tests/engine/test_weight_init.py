"""Weight initialisation: per-node ``init`` and the graph-wide default; the compiled module and
the exported code start from bit-identical weights under one seed."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from hypothesis import given, settings, strategies as st

from graph_engine import Graph, compile_graph, dumps, generate_code, load_template, loads
from graph_engine.weight_params import NODE_SCHEMES, SCHEMES

from tests.engine.test_blocks import with_blocks


def _exec_class(tmp_path, source: str, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [line.split()[1].split("(")[0] for line in source.splitlines() if line.startswith("class ")]
    return getattr(module, classes[-1])


def _same_weights(tmp_path, graph: Graph, name: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(7)
    compiled = compile_graph(graph, device="cpu").state_dict()
    model_class = _exec_class(tmp_path, generate_code(graph), name)
    torch.manual_seed(7)
    exported = model_class().state_dict()
    assert set(exported) == set(compiled)  # (a block class may build its layers in another order)
    for key, tensor in compiled.items():
        assert torch.equal(tensor, exported[key]), key
    return compiled


def _mixed(graph: Graph) -> Graph:
    """LeNet-5's c1, c3, f5, f6, f7 get kaiming, xavier, orthogonal, normal(0.05), zeros."""
    schemes = iter(["kaiming_normal", "xavier_uniform", "orthogonal", "normal", "zeros", "torch"] * 4)
    for node in list(graph):
        if "init" in node.params:
            graph.set_params(node.id, {**node.params, "init": next(schemes), "init_std": 0.05})
    return graph


def test_compiled_and_exported_weights_are_bit_identical_with_every_scheme(tmp_path):
    graph = _mixed(load_template("lenet5"))
    state = _same_weights(tmp_path, graph, "lenet_init")
    assert torch.count_nonzero(state["c1.bias"]) == 0  # a scheme zeroes the biases
    assert torch.count_nonzero(state["f7.weight"]) == 0  # zeros
    assert abs(float(state["f6.weight"].std()) - 0.05) < 0.01  # normal(0.05)
    source = generate_code(graph)
    assert "nn.init.kaiming_normal_(self.c1.weight)" in source
    assert "nn.init.normal_(self.f6.weight, std=0.05)" in source


def test_a_recurrent_graph_and_a_graph_with_blocks_match_too(tmp_path):
    graph = load_template("char_lstm")
    graph.set_training({**graph.training, "init": "orthogonal"})
    _same_weights(tmp_path, graph, "lstm_init")
    blocks = with_blocks([4, 8])
    blocks.set_training({"init": "xavier_normal"})
    state = _same_weights(tmp_path, blocks, "blocks_init")
    assert torch.count_nonzero(state["layer1.conv2.bias"]) == 0


def test_the_graph_default_applies_where_a_node_says_default():
    graph = load_template("mlp")
    torch.manual_seed(0)
    plain = compile_graph(graph, device="cpu").state_dict()
    graph.set_training({**graph.training, "init": "zeros"})
    first = next(n for n in graph if n.type == "Linear")
    graph.set_params(first.id, {**first.params, "init": "torch"})
    torch.manual_seed(0)
    zeroed = compile_graph(graph, device="cpu").state_dict()
    others = [n.id for n in graph if n.type == "Linear" and n.id != first.id]
    assert torch.equal(zeroed[f"{first.id}.weight"], plain[f"{first.id}.weight"])
    assert all(torch.count_nonzero(zeroed[f"{node}.weight"]) == 0 for node in others)


def test_a_file_leaves_default_weight_params_out_and_keeps_set_ones():
    graph = load_template("lenet5")
    text = dumps(graph)
    assert '"init"' not in text and '"lr_mult"' not in text  # older files read the same
    graph.set_params("f7", {**graph.node("f7").params, "init": "xavier_uniform", "trainable": False,
                            "lr_mult": 0.5})
    again = loads(dumps(graph))
    assert again.node("f7").params["init"] == "xavier_uniform"
    assert again.node("f7").params["trainable"] is False
    assert again.node("f7").params["lr_mult"] == 0.5
    assert again.node("c1").params["init"] == "default"


def test_a_bad_graph_default_is_a_one_line_error():
    graph = load_template("mlp")
    graph.set_training({**graph.training, "init": "glorot"})
    with pytest.raises(ValueError, match="training.init must be one of"):
        compile_graph(graph, device="cpu")


@settings(max_examples=15, deadline=None)
@given(scheme=st.sampled_from(NODE_SCHEMES), default=st.sampled_from(SCHEMES),
       std=st.floats(min_value=0.0, max_value=2.0))
def test_any_scheme_compiles_to_finite_weights_of_torch_shapes(scheme, default, std):
    graph = load_template("digits_cnn")
    graph.set_training({**graph.training, "init": default, "init_std": std})
    for node in list(graph):
        if "init" in node.params:
            graph.set_params(node.id, {**node.params, "init": scheme, "init_std": std})
    torch.manual_seed(0)
    state = compile_graph(graph, device="cpu").state_dict()
    assert all(torch.isfinite(t).all() for t in state.values())
