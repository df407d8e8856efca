"""`rosenblatt export --to onnx|torchscript|python [--weights] [--with-training]` and
`rosenblatt import`: files written, exit codes, one-line errors."""

import importlib.util
import json

import pytest
import torch
from safetensors.torch import load_file

from app.cli import main
from graph_engine import analyze, compile_graph, load_graph, load_template, save_graph
from tests.engine.interop_helpers import train_briefly

MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


class Gram(nn.Module):
    def forward(self, x):
        return torch.cumsum(x.flip(1), 1)
'''


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_briefly(tmp_path_factory.mktemp("cli-run"))


def test_export_onnx_writes_a_model_and_says_how(capsys, tmp_path):
    pytest.importorskip("onnx")
    target = tmp_path / "mlp.onnx"
    assert main(["export", "template:mlp", "--to", "onnx", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == (f"wrote {target} (ONNX, dynamo exporter; input 'pixels' float32, output 'output', "
                           "dynamic batch)")
    assert target.stat().st_size > 1000


def test_export_torchscript_with_a_runs_weights(capsys, tmp_path, run_dir):
    target = tmp_path / "mlp.pt"
    assert main(["export", str(run_dir / "graph.json"), "--to", "torchscript", "-o", str(target),
                 "--weights", str(run_dir)]) == 0
    assert "TorchScript via torch.jit.script" in capsys.readouterr().out
    with pytest.warns(DeprecationWarning):  # torch.jit is deprecated but still loads
        loaded = torch.jit.load(str(target))
    trained = load_file(str(run_dir / "checkpoints" / "best.safetensors"))
    assert torch.equal(dict(loaded.state_dict())["classes.weight"], trained["model.classes.weight"])


def test_export_python_with_weights_and_training_script(capsys, tmp_path, run_dir):
    target = tmp_path / "out" / "model.py"
    target.parent.mkdir()
    assert main(["export", str(run_dir / "graph.json"), "-o", str(target), "--weights", str(run_dir),
                 "--with-training"]) == 0
    assert capsys.readouterr().out.strip() == (f"wrote {target}, {target.with_suffix('.safetensors')}, "
                                               f"{target.with_name('train.py')}")
    keys = set(load_file(str(target.with_suffix(".safetensors"))))
    assert keys == set(compile_graph(load_template("mlp"), "cpu").state_dict())
    assert 'INIT_WEIGHTS = "model.safetensors"' in target.with_name("train.py").read_text(encoding="utf-8")


def test_export_with_a_checkpoint_file_or_a_plain_weights_file(capsys, tmp_path, run_dir):
    """--weights takes a .safetensors file too: a run's checkpoint (its ``model.`` tensors) or a
    plain state dict (what ``import --weights`` writes)."""
    checkpoint = run_dir / "checkpoints" / "best.safetensors"
    trained = load_file(str(checkpoint))
    target = tmp_path / "from-checkpoint.pt"
    assert main(["export", str(run_dir / "graph.json"), "--to", "torchscript", "-o", str(target),
                 "--weights", str(checkpoint)]) == 0
    with pytest.warns(DeprecationWarning):
        loaded = torch.jit.load(str(target))
    assert torch.equal(dict(loaded.state_dict())["classes.weight"], trained["model.classes.weight"])

    from graph_engine.interop import save_safetensors
    plain = {k[len("model."):]: v * 2 for k, v in trained.items() if k.startswith("model.")}
    save_safetensors(tmp_path / "doubled.safetensors", plain)
    target = tmp_path / "doubled.pt"
    assert main(["export", str(run_dir / "graph.json"), "--to", "torchscript", "-o", str(target),
                 "--weights", str(tmp_path / "doubled.safetensors")]) == 0
    with pytest.warns(DeprecationWarning):
        loaded = torch.jit.load(str(target))
    assert torch.equal(dict(loaded.state_dict())["classes.weight"], trained["model.classes.weight"] * 2)
    capsys.readouterr()


def test_export_refuses_a_weights_file_of_another_kind_and_writing_over_it(capsys, tmp_path, run_dir):
    (tmp_path / "w.pt").write_bytes(b"not safetensors")
    assert main(["export", str(run_dir / "graph.json"), "--to", "torchscript", "-o", str(tmp_path / "m.pt"),
                 "--weights", str(tmp_path / "w.pt")]) == 2
    assert capsys.readouterr().err.strip() == (f"rosenblatt export: {tmp_path / 'w.pt'}: weights must be a run "
                                               "folder or a .safetensors file")
    weights = tmp_path / "w.safetensors"
    weights.write_bytes((run_dir / "checkpoints" / "best.safetensors").read_bytes())
    assert main(["export", str(run_dir / "graph.json"), "--to", "torchscript", "-o", str(weights),
                 "--weights", str(weights), "--force"]) == 2
    assert "it is an input of this command" in capsys.readouterr().err
    assert weights.read_bytes() == (run_dir / "checkpoints" / "best.safetensors").read_bytes()


@pytest.mark.parametrize("argv, message", [
    (["--to", "onnx", "--with-training"], "rosenblatt export: --with-training goes with --to python"),
    (["--to", "torchscript", "--weights", "nowhere"], "rosenblatt export: nowhere: no such run folder"),
])
def test_export_refusals_are_one_line_exit_2(capsys, tmp_path, argv, message):
    assert main(["export", "template:mlp", "-o", str(tmp_path / "m"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.strip() == message
    assert not (tmp_path / "m").exists()


def test_export_without_the_onnx_extra_names_it(capsys, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else real(name, *a))
    assert main(["export", "template:mlp", "--to", "onnx", "-o", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip() == (
        'rosenblatt export: ONNX export needs onnx, which is not installed: pip install "rosenblatt[onnx]"')


def test_export_of_a_graph_with_errors_exits_1(capsys, tmp_path):
    graph = load_template("mlp")
    graph.remove_node("flatten")
    graph.connect("pixels", "hidden1")
    save_graph(graph, tmp_path / "broken.json")
    assert main(["export", str(tmp_path / "broken.json"), "--to", "torchscript",
                 "-o", str(tmp_path / "m.pt")]) == 1
    assert "hidden1: Linear needs flat (features) input" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.slow  # the import runs in a child process
def test_import_writes_a_valid_graph_and_its_weights(capsys, tmp_path, monkeypatch):
    (tmp_path / "net.py").write_text(MODEL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "net:Net", "-o", "net.json", "--input-shape", "1,8,8",
                 "--weights", "net.safetensors"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote net.json and net.safetensors: Net, 7 nodes; outputs match the model")
    graph = load_graph(tmp_path / "net.json")
    assert analyze(graph).errors == [] and all(n.position is not None for n in graph)
    assert [n.type for n in graph] == ["Input", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Output"]
    compiled = compile_graph(graph, "cpu")
    compiled.load_state_dict(load_file(str(tmp_path / "net.safetensors")))
    assert main(["summary", "net.json", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 4 * 9 + 4 + 64 * 10 + 10


@pytest.mark.slow  # the import runs in a child process
def test_import_of_unsupported_calls_lists_each_and_exits_1(capsys, tmp_path):
    (tmp_path / "gram.py").write_text(MODEL, encoding="utf-8")
    assert main(["import", f"{tmp_path / 'gram.py'}:Gram", "-o", str(tmp_path / "g.json"),
                 "--input-shape", "3,4"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    line = MODEL.splitlines().index("        return torch.cumsum(x.flip(1), 1)") + 1
    why = "(in forward): no layer type for this call"
    assert lines == ["rosenblatt import: Gram: 2 calls cannot become a layer:",
                     f"  gram.py:{line}: Tensor.flip at node flip {why}",
                     f"  gram.py:{line}: torch.cumsum at node cumsum {why}"]
    assert not (tmp_path / "g.json").exists()


@pytest.mark.slow  # the import runs in a child process
def test_import_refusals_are_one_line_exit_2(capsys, tmp_path):
    assert main(["import", "no_such_module:Net", "-o", str(tmp_path / "g.json"), "--input-shape", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "importing no_such_module failed: ModuleNotFoundError" in err
    with pytest.raises(SystemExit):
        main(["import", "x:Net", "-o", str(tmp_path / "g.json"), "--input-shape", "3,zero"])
