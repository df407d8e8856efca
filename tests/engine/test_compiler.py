"""compile_graph: an fx.GraphModule named by node ids, on the right device, refusing bad graphs."""

import pytest
import torch
from torch import fx

from graph_engine import CompileError, compile_graph, load_template, resolve_device
from tests.engine.helpers import chain


def test_modules_and_parameters_are_named_by_node_id():
    model = compile_graph(load_template("char_lstm"), device="cpu")
    assert isinstance(model, fx.GraphModule)
    names = list(model.state_dict())
    assert names[:2] == ["embed.weight", "lstm.weight_ih_l0"]
    assert "next_char.bias" in names
    assert type(model).__name__ == "CharacterLSTM"


def test_generated_code_is_straight_line_python():
    model = compile_graph(load_template("resnet_style"), device="cpu")
    code = model.code
    assert "def forward(self, image)" in code
    assert "s1b1_add = s1b1_bn2 + s1b1_relu2" not in code  # the skip comes from the stem
    assert "s1b1_add = s1b1_bn2 + stem_relu" in code
    assert "for " not in code and "while " not in code


def test_dead_branches_are_not_compiled():
    graph = chain(("x", "Input", {"shape": [4]}), ("fc", "Linear", {}), ("out", "Output", {}))
    graph.create_node("Linear", node_id="unused")
    graph.connect("x", "unused")
    model = compile_graph(graph, device="cpu")
    assert not hasattr(model, "unused")
    assert model(torch.zeros(2, 4)).shape == (2, 10)


def test_graph_with_errors_is_refused_with_its_diagnostics():
    graph = chain(("image", "Input", {"shape": [16, 4, 4]}), ("fc", "Linear", {}), ("out", "Output", {}))
    with pytest.raises(CompileError, match=r"1 error: fc: Linear needs flat .*fix: Insert a Flatten"):
        compile_graph(graph)


def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_model_is_placed_on_the_requested_device():
    model = compile_graph(load_template("mlp"), device="cpu")
    assert {p.device.type for p in model.parameters()} == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_runs_on_cuda():
    model = compile_graph(load_template("digits_cnn"), device="auto")
    assert next(model.parameters()).is_cuda
    assert model(torch.randn(4, 1, 8, 8, device="cuda")).shape == (4, 10)


def test_tap_returns_intermediate_outputs_and_computes_only_what_they_need():
    from graph_engine.compiler import tap
    graph = load_template("digits_cnn")
    model = compile_graph(graph, device="cpu").eval()
    x = torch.randn(3, 1, 8, 8)
    early = tap(model, ["relu1"])
    assert early.conv1 is model.conv1                    # shares the live weights
    assert not hasattr(early, "fc1")                     # nothing past relu1 is kept
    torch.testing.assert_close(early(x)["relu1"], torch.relu(model.conv1(x)))
    both = tap(model, ["conv3", "scores"])(x)
    torch.testing.assert_close(both["scores"], model(x))
    with pytest.raises(KeyError, match="nope"):
        tap(model, ["nope"])
