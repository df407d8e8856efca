"""Every shipped template loads, validates, compiles and runs a forward pass."""

import pytest
import torch

from graph_engine import DEFAULT_TEMPLATE, analyze, compile_graph, list_templates, load_template

KEYS = [t.key for t in list_templates()]
REQUIRED = {"perceptron", "mlp", "digits_cnn", "lenet5", "vgg_style", "resnet_style", "unet_like",
            "char_lstm", "gru_classifier", "seq2seq_translator", "shapes_captioner"}


def test_all_required_templates_ship():
    assert REQUIRED <= set(KEYS)
    assert DEFAULT_TEMPLATE == "digits_cnn"
    assert all(t.description for t in list_templates())


@pytest.mark.parametrize("key", KEYS)
def test_template_compiles_and_runs(key):
    graph = load_template(key)
    analysis = analyze(graph)
    assert analysis.diagnostics == []
    model = compile_graph(graph, device="cpu").eval()
    (output_id,) = [n.id for n in graph if n.type == "Output"]
    inputs = []
    for node in graph:  # the module takes every Input, in file order (the encoder–decoders take two)
        if node.type == "Input":
            shape = (2, *node.params["shape"])
            inputs.append(torch.randint(0, 32, shape) if node.params["dtype"] == "int64" else torch.randn(shape))
    with torch.no_grad():
        y = model(*inputs)
    assert tuple(y.shape) == (2, *analysis.info(output_id).out_shape)
    assert torch.isfinite(y).all()
    assert analysis.total_params == sum(p.numel() for p in model.parameters())


def test_known_parameter_counts():
    assert analyze(load_template("lenet5")).total_params == 61_706  # LeCun et al. 1998
    assert analyze(load_template("perceptron")).total_params == 2 + 1  # two weights and a bias


def test_unknown_template_names_the_known_ones():
    with pytest.raises(KeyError, match="known: .*lenet5"):
        load_template("alexnet")
