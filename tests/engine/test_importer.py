"""Importing hand-written PyTorch models: graph, weights and outputs equal the original's; every
call without a layer type is listed with its file, line and fx node."""

import textwrap

import pytest
import torch
from torch import nn

from graph_engine import analyze, compile_graph, graph_from_dict, graph_to_dict
from graph_engine.interop import (
    InteropError, UnsupportedModel, import_model, import_module_object, load_safetensors, save_safetensors,
)
from graph_engine.interop.fx_walk import FxWalk

MODELS = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.nn import functional as F


    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU(inplace=True)
            self.shortcut = nn.Sequential()
            if stride != 1 or c_in != c_out:
                self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                              nn.BatchNorm2d(c_out))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            return self.relu(out)


    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.layer1 = BasicBlock(8, 8)
            self.layer2 = BasicBlock(8, 16, stride=2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = self.layer2(self.layer1(x))
            x = torch.flatten(self.pool(x), 1)
            return self.fc(x)


    def make_mlp():
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), nn.Dropout(0.1), nn.Linear(32, 10))


    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.wide = nn.Conv2d(1, 4, 5, padding=2)
            self.narrow = nn.Conv2d(1, 4, 3, padding="same")
            self.head = nn.Linear(8 * 4 * 4, 3)

        def forward(self, x):
            both = torch.cat([F.relu(self.wide(x)), self.narrow(x).sigmoid()], dim=1)
            pooled = F.max_pool2d(both, 2)
            return F.softmax(self.head(pooled.view(pooled.size(0), -1)), dim=1)


    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(40, 12)
            self.lstm = nn.LSTM(12, 24, num_layers=2, batch_first=True, dropout=0.1)
            self.head = nn.Linear(24, 40)

        def forward(self, tokens):
            out, (h, c) = self.lstm(self.embed(tokens))
            return self.head(out)


    class LastState(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 16, batch_first=True)
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            _, h = self.gru(x)
            return self.fc(h[-1])


    class Unsupported(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 8)
            self.register_buffer("mask", torch.ones(8))

        def forward(self, x):
            y = self.proj(x)
            z = torch.cumsum(y.flip(1), 1)
            return z.logcumsumexp(1) + x * self.mask
''')


@pytest.fixture(scope="module")
def models_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "handwritten.py"
    path.write_text(MODELS, encoding="utf-8")
    return path


def _original(models_file, name):
    """A fresh instance from the same file, with its own initial weights (seeded)."""
    namespace: dict = {}
    exec(compile(MODELS, str(models_file), "exec"), namespace)
    torch.manual_seed(0)
    return namespace[name]()


def _randomise_norm_statistics(model):
    """Running statistics other than 0/1, so that copying them is really tested."""
    generator = torch.Generator().manual_seed(3)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.num_batches_tracked.fill_(7)


def _check_valid_and_laid_out(graph):
    assert analyze(graph).errors == []
    positions = [node.position for node in graph]
    assert all(p is not None for p in positions) and len(set(positions)) == len(positions)


def test_resnet_style_round_trip_same_outputs_with_the_written_weights(tmp_path, models_file):
    original = _original(models_file, "TinyResNet")
    _randomise_norm_statistics(original)
    imported = import_module_object(original, (3, 16, 16))
    graph = imported.graph
    _check_valid_and_laid_out(graph)
    types = [node.type for node in graph]
    assert types.count("Add") == 2 and types.count("BatchNorm2d") == 6 and types.count("Conv2d") == 6
    assert {"layer1_conv1", "layer2_shortcut_0", "layer2_bn2", "fc"} <= set(graph.nodes)
    save_safetensors(tmp_path / "w.safetensors", imported.state)
    reloaded = graph_from_dict(graph_to_dict(graph))  # what a saved graph file gives back
    compiled = compile_graph(reloaded, device="cpu")
    compiled.load_state_dict(load_safetensors(tmp_path / "w.safetensors"))
    compiled.eval()
    original.eval()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(compiled.double()(x), original.double()(x), rtol=0, atol=1e-10)
    assert imported.max_difference <= 1e-10


def test_import_by_module_name_and_by_file_path(monkeypatch, models_file):
    monkeypatch.chdir(models_file.parent)
    by_name = import_model("handwritten:make_mlp", [1, 8, 8])
    assert [n.type for n in by_name.graph] == ["Input", "Flatten", "Linear", "Tanh", "Dropout", "Linear",
                                               "Output"]
    assert by_name.graph.name == "Sequential"
    assert set(by_name.state) == {"n_1.weight", "n_1.bias", "n_4.weight", "n_4.bias"}
    by_path = import_model(f"{models_file}:TwoBranches", [1, 8, 8], name="Two branches")
    _check_valid_and_laid_out(by_path.graph)
    assert by_path.graph.name == "Two branches"
    concat = next(n for n in by_path.graph if n.type == "Concat")
    assert concat.params == {"dim": 0}
    sources = [e.source for e in sorted(by_path.graph.in_edges(concat.id), key=lambda e: e.port)]
    assert [by_path.graph.node(s).type for s in sources] == ["ReLU", "Sigmoid"]
    assert by_path.graph.node("narrow").params["padding"] == "same"
    types = {n.type for n in by_path.graph}
    assert {"MaxPool2d", "Flatten", "Softmax"} <= types
    assert by_path.max_difference <= 1e-10


def test_embedding_lstm_model_with_int64_tokens(models_file):
    original = _original(models_file, "CharModel")
    imported = import_module_object(original, [10], "int64")
    _check_valid_and_laid_out(imported.graph)
    lstm = imported.graph.node("lstm")
    assert lstm.params["return_sequences"] is True and lstm.params["num_layers"] == 2
    assert imported.graph.node("tokens").params == {"shape": [10], "dtype": "int64"}
    compiled = compile_graph(imported.graph, device="cpu")
    compiled.load_state_dict(imported.state)
    compiled.eval()
    tokens = torch.randint(0, 40, (3, 10))
    with torch.no_grad():
        torch.testing.assert_close(compiled(tokens), original.eval()(tokens), rtol=0, atol=1e-6)


def test_recurrent_final_state_becomes_return_sequences_false(models_file):
    imported = import_module_object(_original(models_file, "LastState"), [7, 6])
    assert imported.graph.node("gru").params["return_sequences"] is False
    assert imported.max_difference <= 1e-10

    class LastStep(nn.Module):
        def __init__(self, bidirectional):
            super().__init__()
            self.rnn = nn.RNN(6, 8, batch_first=True, bidirectional=bidirectional)

        def forward(self, x):
            out, _ = self.rnn(x)
            return out[:, -1]

    assert import_module_object(LastStep(False), [7, 6]).graph.node("rnn").params["return_sequences"] is False
    with pytest.raises(UnsupportedModel, match=r"it uses rnn\[0\]\[:, -1\]: the RNN layer type gives its "
                                               r"output sequence \(\[0\]\) or, in one direction"):
        import_module_object(LastStep(True), [7, 6])


def test_calls_without_a_layer_type_are_each_listed_with_file_line_and_node(models_file):
    with pytest.raises(UnsupportedModel) as failure:
        import_model(f"{models_file}:Unsupported", [8])
    problems = failure.value.problems
    assert len(problems) == 3, problems
    line = MODELS.splitlines().index("        z = torch.cumsum(y.flip(1), 1)") + 1
    assert f"handwritten.py:{line}: torch.cumsum at node cumsum (in forward): no layer type for this call" \
        in problems
    assert any("Tensor.flip at node flip" in p for p in problems)  # cumsum's input: both listed
    assert any("Tensor.logcumsumexp at node logcumsumexp" in p for p in problems)
    assert not any("operator.mul" in p for p in problems)  # x * self.mask: a Constant node
    assert not any("operator.add" in p for p in problems)  # it has a layer type; its inputs failed
    assert str(failure.value).startswith("Unsupported: 3 calls cannot become a layer: ")


def test_a_float_buffer_used_as_a_value_becomes_a_constant_node_with_its_values():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.register_buffer("gain", torch.linspace(0.5, 2.0, 4).view(4, 1, 1))
            self.register_buffer("steps", torch.arange(4))  # an int buffer nobody uses as a value

        def forward(self, x):
            return self.conv(x) * self.gain + self.gain

    torch.manual_seed(0)
    model = Scaled()
    imported = import_module_object(model, [3, 8, 8])
    constants = [n for n in imported.graph if n.type == "Constant"]
    assert [n.id for n in constants] == ["gain"]  # one node for both uses, named by the buffer
    assert constants[0].params["shape"] == [4, 1, 1]
    assert {"Mul", "Add"} <= {n.type for n in imported.graph}
    compiled = compile_graph(imported.graph, "cpu")
    compiled.load_state_dict(imported.state)
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(compiled(x), model(x), atol=1e-6)


def test_settings_that_a_layer_type_lacks_are_refused_with_the_reason():
    class Reflect(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(2, 4, 3, padding=1, padding_mode="reflect")

        def forward(self, x):
            return self.conv(x)

    with pytest.raises(UnsupportedModel, match=r"nn.Conv1d self.conv at node conv \(in forward\): "
                                               r"padding_mode='reflect' \(only zeros\)"):
        import_module_object(Reflect(), [2, 9])


def test_shared_weights_second_inputs_and_untraceable_models_are_refused():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))

    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(UnsupportedModel, match="self.fc is called more than once"):
        import_module_object(Shared(), [4])
    with pytest.raises(InteropError, match="Branchy: torch.fx cannot trace it: ") as failure:
        import_module_object(Branchy(), [4])
    assert "\n" not in str(failure.value)


def test_bad_targets_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text("raise RuntimeError('no GPU here')\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("VALUE = 3\n", encoding="utf-8")
    cases = {"nomodule:Net": "importing nomodule failed: ModuleNotFoundError",
             "broken:Net": "importing broken failed: RuntimeError: no GPU here",
             "plain:Missing": "plain has no attribute 'Missing'",
             "plain:VALUE": "VALUE is neither an nn.Module class nor a factory function",
             "Net": "expected module:ClassOrFactory"}
    for spec, expected in cases.items():
        with pytest.raises(InteropError, match=expected):
            import_model(spec, [4])
    with pytest.raises(InteropError, match=r"running it on an input of shape \[5\]"):
        import_module_object(nn.Linear(4, 2), [5])


def test_node_ids_come_from_attribute_names_made_valid():
    walk = FxWalk(nn.Module(), None, (1,), "float32", 2)
    assert walk.fresh_id("layer1.0.conv1") == "layer1_0_conv1"
    assert walk.fresh_id("0") == "n_0"
    assert walk.fresh_id("type") == "type_layer"  # a torch.nn.Module attribute
    assert walk.fresh_id("lambda") == "lambda_"
    walk.pending["relu"] = None
    assert walk.fresh_id("relu") == "relu_2"


# -- issue 11's import: named outputs, learned tensors, channels-first norms, complete lists -----

def _parameters(module):
    return sum(p.numel() for p in module.parameters())


def _compiled(imported):
    compiled = compile_graph(imported.graph, device="cpu").eval()
    compiled.load_state_dict(imported.state)
    return compiled


def test_dict_and_namedtuple_outputs_become_named_outputs():
    from collections import namedtuple

    Pair = namedtuple("Pair", "logits features")

    class Segmenter(nn.Module):  # FCN's {'out': …, 'aux': …}
        def __init__(self):
            super().__init__()
            self.body = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Conv2d(4, 2, 1)
            self.aux_head = nn.Conv2d(4, 2, 1)

        def forward(self, x):
            features = {"out": self.body(x)}
            return {"out": self.head(features["out"]), "aux": self.aux_head(features["out"])}

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return Pair(self.fc(x), torch.relu(x))

    imported = import_module_object(Segmenter(), (3, 6, 6))
    outputs = [n.id for n in imported.graph if n.type == "Output"]
    assert outputs == ["out", "aux"] and imported.max_difference <= 1e-10
    assert isinstance(_compiled(imported)(torch.randn(2, 3, 6, 6)), tuple)
    imported = import_module_object(Both(), (4,))
    assert [n.id for n in imported.graph if n.type == "Output"] == ["logits", "features"]
    assert imported.max_difference <= 1e-10


class TinyViT(nn.Module):
    """torchvision's VisionTransformer in small: a class token expanded over the batch, a
    positional embedding added, self-attention called as ViT calls it, x[:, 0]; plus a layer
    scale (C, 1, 1) times an activation and a (D,) bias added to (L, D)."""

    def __init__(self):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 8, 4, 4)
        self.layer_scale = nn.Parameter(torch.rand(8, 1, 1))
        self.class_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.pos_embedding = nn.Parameter(torch.empty(1, 5, 8).normal_(std=0.02))
        self.bias = nn.Parameter(torch.randn(8))
        self.ln = nn.LayerNorm(8, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        n = x.shape[0]
        x = self.layer_scale * self.conv_proj(x)
        x = x.reshape(n, 8, 4).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        y = self.ln(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y + self.bias
        return self.head(x[:, 0])


def test_learned_tensors_beside_activations_become_parameter_nodes():
    torch.manual_seed(0)
    model = TinyViT()
    imported = import_module_object(model, (3, 8, 8))
    graph = imported.graph
    parameters = {n.id: n.params for n in graph if n.type == "Parameter"}
    assert parameters.keys() == {"layer_scale", "class_token", "pos_embedding", "bias"}
    assert parameters["layer_scale"]["shape"] == [8, 1, 1] and parameters["pos_embedding"]["shape"] == [5, 8]
    assert parameters["class_token"]["init"] == "zeros" and parameters["bias"]["shape"] == [1, 8]
    assert imported.state["pos_embedding"].shape == (1, 5, 8)
    assert any(n.type == "Expand" for n in graph)  # the (1, 8) bias brought to (5, 8) for Add
    assert any(n.type == "Select" for n in graph)
    assert _parameters(_compiled(imported)) == _parameters(model)
    assert imported.max_difference <= 1e-10
    x = torch.randn(3, 3, 8, 8)  # another batch size than the traced one
    with torch.no_grad():
        torch.testing.assert_close(_compiled(imported)(x), model(x), rtol=1e-5, atol=1e-6)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: F.layer_norm over the channels, between permutes."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = LayerNorm2d(6, eps=1e-6)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.ln = nn.LayerNorm(6)
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 6)

    def forward(self, x):
        y = self.dw(self.norm(x)).permute(0, 2, 3, 1)
        y = self.fc2(nn.functional.gelu(self.fc1(self.ln(y))))
        return x + y.permute(0, 3, 1, 2)


def test_layer_norm_over_channels_and_linear_over_positions():
    torch.manual_seed(0)
    model = ConvNeXtBlock()
    imported = import_module_object(model, (6, 5, 5))
    graph = imported.graph
    norm = graph.node("norm")  # named after the module whose forward calls F.layer_norm
    assert norm.type == "LayerNorm" and norm.params["channels_first"] is True and norm.params["eps"] == 1e-6
    assert [n.type for n in graph].count("Permute") == 2  # LayerNorm2d's two are gone
    assert graph.node("fc1_flat").params["shape"] == [25, 6]  # Linear over (H·W, C)
    assert graph.node("fc2_unflat").params["shape"] == [5, 5, 6]
    assert {"norm.weight", "norm.bias", "fc1.weight"} <= set(imported.state)
    assert _parameters(_compiled(imported)) == _parameters(model)
    assert imported.max_difference <= 1e-10


def test_the_weights_are_the_models_own_tensors_and_the_model_is_left_as_it_was():
    torch.manual_seed(0)
    model = TinyViT()
    before = {name: (p, p.data_ptr(), p.dtype) for name, p in model.named_parameters()}
    imported = import_module_object(model, (3, 8, 8))
    for name, (parameter, pointer, dtype) in before.items():
        now = model.get_parameter(name)
        assert now is parameter and now.data_ptr() == pointer and now.dtype == dtype == torch.float32
    assert imported.state["conv_proj.weight"].data_ptr() == model.conv_proj.weight.data_ptr()
    assert imported.state["self_attention.out_proj.weight"].dtype == torch.float32


def test_large_layers_are_checked_in_float64_a_slice_at_a_time(monkeypatch):
    from graph_engine.interop import importer

    class Wide(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.fc = nn.Linear(16 * 4 * 4, 40)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    monkeypatch.setattr(importer, "SLICE_BYTES", 2048)  # conv: 3 filters a slice, fc: 1 row
    model = Wide()
    assert importer._lean(model.conv) and importer._lean(model.fc)
    imported = import_module_object(model, (3, 4, 4))
    assert imported.max_difference <= 1e-12
    assert "forward" not in vars(model.fc) and model.fc.weight.dtype == torch.float32


def test_a_learned_tensor_shared_by_two_layers_is_refused_by_name():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(4))
            self.bias = nn.Parameter(torch.zeros(4))

        def forward(self, x):
            x = nn.functional.layer_norm(x, (4,), self.weight, self.bias)
            return nn.functional.layer_norm(x, (4,), self.weight, self.bias)

    with pytest.raises(UnsupportedModel, match=r"self.weight is also used by 'layer_norm' \(shared weights"):
        import_module_object(Tied(), (4,))


def test_every_refusal_is_listed_even_after_a_failed_call_with_library_file_and_line(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "fakelib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "blocks.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn


        class Block(nn.Module):
            def forward(self, x):
                y = torch.cumsum(x, 1)
                return y.flip(1)[:, 0]
    '''), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    from fakelib.blocks import Block

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.block(x).unsqueeze(1).expand(-1, 3, -1))

    with pytest.raises(UnsupportedModel) as failure:
        import_module_object(Model(), (3, 4))
    problems = failure.value.problems
    assert problems[0].startswith("fakelib/blocks.py:8: torch.cumsum at node cumsum (in forward): ")
    assert problems[1].startswith("fakelib/blocks.py:9: Tensor.flip at node flip (in forward): ")
    assert len(problems) == 2, problems  # x[:, 0], unsqueeze, expand and fc have layer types




def test_safetensors_are_written_tensor_by_tensor_and_read_back_exactly(tmp_path):
    from safetensors.torch import load_file

    weight = torch.randn(4, 5)
    state = {"fc.weight": weight, "fc.transposed": weight.t(), "scalar": torch.tensor(3.0),
             "empty": torch.empty(0, 3), "steps": torch.arange(5), "mask": torch.tensor([True, False]),
             "half": torch.randn(3).half(), "brain": torch.randn(3).bfloat16()}
    save_safetensors(tmp_path / "w.safetensors", state, {"graph": "g"})
    back = load_file(str(tmp_path / "w.safetensors"))
    assert back.keys() == state.keys()
    for key, value in state.items():
        assert back[key].dtype == value.dtype and torch.equal(back[key], value), key
