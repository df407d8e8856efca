"""Export round trips: ONNX (onnxruntime), TorchScript (torch.jit.load) and Python with weights
and a standalone train.py give the outputs the compiled graph (or the trained run) gives."""

import ast
import importlib.util
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from graph_engine import compile_graph, list_templates, load_template
from graph_engine.interop import (
    InteropError, MissingExtra, export_onnx, export_python, export_torchscript, generate_train_script,
)
from graph_engine.interop.exportable import prepare
from graph_engine.interop.onnx_export import onnx_bytes
from graph_engine.training.replay import open_run
from tests.engine.helpers import chain
from tests.engine.interop_helpers import import_file, train_briefly

TEMPLATES = [t.key for t in list_templates()]
#: ONNX export takes 0.5-6 s a graph (torch.export), so it runs on graphs that between them hold
#: every layer family the templates use: conv, batch norm, residual Add, global pooling and
#: Linear (resnet_style); max pooling, transposed conv, Concat and bilinear Upsample (unet_like);
#: a bidirectional GRU's final state (gru_classifier); int64 tokens into an Embedding and a
#: stacked LSTM (a small stand-in for char_lstm); Flatten/ReLU/Linear (the trained-weights test).
ONNX_TEMPLATES = ["resnet_style", "unet_like", "gru_classifier", "tokens"]


def _graph(key):
    if key != "tokens":
        return load_template(key)
    return chain(("chars", "Input", {"shape": [12], "dtype": "int64"}),
                 ("embed", "Embedding", {"num_embeddings": 128, "embedding_dim": 8}),
                 ("lstm", "LSTM", {"hidden_size": 16, "num_layers": 2}),
                 ("next_char", "Linear", {"out_features": 128}), ("logits", "Output", {}), name="tokens")


def _inputs(graph, batch, seed=1):
    """One batch per Input node, in file order (the compiled module's arguments)."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for node in (n for n in graph if n.type == "Input"):
        shape = (batch, *node.params["shape"])
        batches.append(torch.randint(0, 8, shape, generator=generator) if node.params["dtype"] == "int64"
                       else torch.randn(shape, generator=generator))
    return tuple(batches)


def _input(graph, batch, seed=1):
    return _inputs(graph, batch, seed)[0]


def _reference(graph, x, state=None):
    torch.manual_seed(0)  # the initial weights export_* drew after the same seed
    module = compile_graph(graph, device="cpu")
    if state is not None:
        module.load_state_dict(state)
    module.eval()
    with torch.no_grad():
        return module(*x) if isinstance(x, tuple) else module(x)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_briefly(tmp_path_factory.mktemp("interop"))


@pytest.fixture(scope="module")
def trained(run_dir):
    opened = open_run(run_dir)
    x = _input(opened.graph, 5)
    with torch.no_grad():
        return opened, x, opened.model(x)


@pytest.mark.parametrize("key", ONNX_TEMPLATES)
def test_onnxruntime_gives_torch_outputs_with_a_dynamic_batch(tmp_path, key):
    ort = pytest.importorskip("onnxruntime")
    graph = _graph(key)
    torch.manual_seed(0)
    result = export_onnx(graph, tmp_path / "model.onnx")
    assert result.exporter == "dynamo"
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.name == result.input_name and given.shape[0] == "batch"
    assert given.type == ("tensor(int64)" if key == "tokens" else "tensor(float)")
    for batch in (1, 5):  # the export traced a batch of 2
        x = _input(graph, batch)
        (got,) = session.run(None, {given.name: x.numpy()})
        expected = _reference(graph, x)
        assert got.shape == tuple(expected.shape)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=1e-4)


def test_the_legacy_exporter_takes_over_when_the_main_one_refuses(tmp_path, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    from graph_engine.interop import onnx_export

    def refuse(*args, **kwargs):
        raise RuntimeError("torch.export refused")

    monkeypatch.setattr(onnx_export, "_dynamo_bytes", refuse)
    graph = _graph("tokens")
    torch.manual_seed(0)
    assert export_onnx(graph, tmp_path / "m.onnx").exporter == "legacy"
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = _input(graph, 3)
    (got,) = session.run(None, {"chars": x.numpy()})
    np.testing.assert_allclose(got, _reference(graph, x).numpy(), atol=1e-5, rtol=1e-4)


def test_onnx_refusal_names_the_node_its_type_and_why():
    class CumulativeMax(torch.nn.Module):  # aten::cummax has no ONNX translation in either exporter
        def forward(self, x):
            return torch.cummax(x, 1)[0]

    exportable = prepare(load_template("mlp"))
    exportable.module.hidden2 = torch.nn.Sequential(torch.nn.Linear(128, 64), CumulativeMax())
    with pytest.raises(InteropError) as failure:
        onnx_bytes(exportable)
    message = str(failure.value)
    assert message.startswith("node 'hidden2' (Linear) cannot be exported to ONNX: ")
    assert "cummax" in message and "\n" not in message


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(MissingExtra) as failure:
        export_onnx(load_template("mlp"), tmp_path / "m.onnx")
    assert str(failure.value) == ('ONNX export needs onnxscript, which is not installed: '
                                  'pip install "rosenblatt[onnx]"')
    assert not (tmp_path / "m.onnx").exists()


def _jit_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still works
        return torch.jit.load(str(path))


@pytest.mark.parametrize("key", TEMPLATES)
def test_torchscript_file_runs_like_the_compiled_graph(tmp_path, key):
    graph = load_template(key)
    torch.manual_seed(0)
    result = export_torchscript(graph, tmp_path / "model.pt")
    # only Upsample's integer scale_factor is refused by the script compiler
    assert result.method == ("trace" if key in ("unet_like", "fcn") else "script"), result.script_refusal
    loaded = _jit_load(tmp_path / "model.pt")
    state = compile_graph(graph, device="cpu").state_dict()
    assert set(dict(loaded.state_dict())) == set(state)
    for batch in (1, 3):
        xs = _inputs(graph, batch)
        with torch.no_grad():
            torch.testing.assert_close(loaded(*xs), _reference(graph, xs, dict(loaded.state_dict())),
                                       rtol=0, atol=1e-6)


def test_onnx_and_torchscript_carry_a_runs_trained_weights(tmp_path, run_dir, trained):
    ort = pytest.importorskip("onnxruntime")
    opened, x, expected = trained
    export_torchscript(opened.graph, tmp_path / "m.pt", weights=run_dir)
    with torch.no_grad():
        torch.testing.assert_close(_jit_load(tmp_path / "m.pt")(x), expected, rtol=0, atol=1e-6)
    export_onnx(opened.graph, tmp_path / "m.onnx", weights=run_dir)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=1e-4)


def test_weights_that_do_not_fit_the_graph_are_named(tmp_path, run_dir):
    with pytest.raises(InteropError, match=r"hidden1.weight is 128×64 in the weights but 16×64"):
        graph = load_template("mlp")
        graph.set_params("hidden1", {"out_features": 16})
        export_torchscript(graph, tmp_path / "m.pt", weights=run_dir)
    with pytest.raises(InteropError, match="has no checkpoint yet"):
        export_torchscript(load_template("mlp"), tmp_path / "m.pt", weights=tmp_path)


def test_python_export_writes_the_runs_weights_under_the_modules_keys(tmp_path, run_dir, trained):
    opened, x, expected = trained
    result = export_python(opened.graph, tmp_path / "model.py", weights=run_dir)
    assert result.files == [tmp_path / "model.py", tmp_path / "model.safetensors"]
    state = load_file(str(tmp_path / "model.safetensors"))
    assert sorted(state) == sorted(compile_graph(opened.graph, device="cpu").state_dict())
    model = import_file(tmp_path / "model.py", "exported_mlp").MLP()
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def _imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    return roots | {node.module.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}


def test_generated_files_import_only_torch_numpy_pil_and_the_standard_library(tmp_path):
    for key in ("mlp", "char_lstm"):
        (tmp_path / key).mkdir()
        export_python(load_template(key), tmp_path / key / "model.py", with_training=True)
        for name in ("model.py", "train.py"):
            roots = _imported_roots(tmp_path / key / name)
            outside = roots - set(sys.stdlib_module_names) - {"torch", "numpy", "PIL"}
            assert not outside, f"{key}/{name} imports {outside}"
            assert not roots & {"app", "graph_engine", "widgets", "resources", "safetensors"}


# Runs train.py with an import hook that refuses Rosenblatt's packages: proof that the script
# and the model file it loads need none of them, even indirectly.
_GUARDED_RUN = """
import runpy, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("app", "graph_engine", "widgets", "resources"):
            raise ImportError("train.py imported " + name)
sys.meta_path.insert(0, Refuse())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _run_script(script, *args, cwd):
    return subprocess.run([sys.executable, "-c", _GUARDED_RUN, str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=240, cwd=cwd)


def _epoch_lines(stdout):
    lines = [line.split() for line in stdout.splitlines() if line.startswith("epoch ")]
    return [{key: float(value) for key, value in zip(line[2::2], line[3::2])} for line in lines]


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images[:360].reshape(-1, 1, 8, 8), digits.target[:360]


@pytest.mark.slow
def test_train_script_trains_on_npz_and_starts_from_the_exported_weights(tmp_path, run_dir):
    graph = open_run(run_dir).graph
    export_python(graph, tmp_path / "model.py", weights=run_dir, with_training=True)
    x, y = _digits()
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    result = _run_script(tmp_path / "train.py", "digits.npz", "--epochs", 2, "--out", "trained.safetensors",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    epochs = _epoch_lines(result.stdout)
    assert len(epochs) == 2 and epochs[1]["loss"] < epochs[0]["loss"]
    assert epochs[0]["val_accuracy"] > 0.5  # started from the run's weights (trained on digits)
    trained = load_file(str(tmp_path / "trained.safetensors"))
    model = import_file(tmp_path / "model.py", "trained_mlp").MLP()
    model.load_state_dict(trained)
    start = load_file(str(tmp_path / "model.safetensors"))
    assert not torch.equal(trained["classes.weight"], start["classes.weight"])


def test_train_script_trains_on_csv_with_text_labels(tmp_path, monkeypatch, capsys):
    graph = load_template("mlp")
    graph.set_training({"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32, "seed": 3})
    export_python(graph, tmp_path / "net.py", with_training=True)
    x, y = _digits()
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    rows = [",".join([f"p{i}" for i in range(64)] + ["label"])]
    rows += [",".join([*map(str, sample.ravel()), names[label]]) for sample, label in zip(x, y)]
    (tmp_path / "digits.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    script = import_file(tmp_path / "train.py", "generated_csv_train")
    assert script.main(["digits.csv", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    epochs = _epoch_lines(out)
    assert len(epochs) == 2 and epochs[1]["loss"] < epochs[0]["loss"]
    assert "lr 0.05" in out.splitlines()[0]
    with safe_open(str(tmp_path / "trained.safetensors"), "pt") as saved:
        assert json.loads(saved.metadata()["class_names"]) == sorted(names.tolist())
        assert len(json.loads(saved.metadata()["feature_mean"])) == 64


def test_train_script_reads_a_folder_of_images_in_process(tmp_path, monkeypatch, capsys):
    from PIL import Image

    graph = load_template("lenet5")
    graph.set_training({"epochs": 1, "batch_size": 16})
    export_python(graph, tmp_path / "model.py", with_training=True)
    x, y = _digits()
    for index in range(48):
        folder = tmp_path / "images" / ("even" if y[index] % 2 == 0 else "odd")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((x[index, 0] * 15).astype(np.uint8)).save(folder / f"{index}.png")
    script = import_file(tmp_path / "train.py", "generated_train")
    features, labels, names, images = script.read_data(str(tmp_path / "images"))
    assert features.shape == (48, 1, 32, 32) and names == ["even", "odd"] and images
    assert 0.0 <= features.min() and features.max() <= 1.0
    monkeypatch.chdir(tmp_path)
    assert script.main([str(tmp_path / "images"), "--out", "w.safetensors"]) == 0
    assert set(load_file(str(tmp_path / "w.safetensors"))) == set(compile_graph(graph, "cpu").state_dict())
    assert script.main([str(tmp_path / "images"), "--init", "missing.safetensors"]) == 2
    assert capsys.readouterr().err.startswith("train.py: cannot start from missing.safetensors: ")
    assert script.main([str(tmp_path / "nowhere.txt")]) == 2
    assert "not a folder of class sub-folders, a .csv or a .npz file" in capsys.readouterr().err


def test_train_script_carries_the_graphs_training_settings():
    graph = load_template("char_lstm")
    graph.set_training({**graph.training, "optimizer": "rmsprop", "schedule": "cosine", "weight_decay": 0.01,
                        "seed": 7})
    source = generate_train_script(graph, "lm.py", "lm.safetensors")
    namespace: dict = {}
    block = source.split("# -- generated: begin\n")[1].split("# -- generated: end\n")[0]
    exec(block, namespace)
    assert namespace["MODEL_FILE"] == "lm.py" and namespace["MODEL_CLASS"] == "CharacterLSTM"
    assert namespace["INIT_WEIGHTS"] == "lm.safetensors"
    assert namespace["INPUT_SHAPE"] == (64,) and namespace["INPUT_DTYPE"] == "int64"
    assert namespace["OUTPUT_SHAPE"] == (64, 128)
    settings = namespace["SETTINGS"]
    assert (settings["optimizer"], settings["schedule"], settings["weight_decay"], settings["seed"]) == \
        ("rmsprop", "cosine", 0.01, 7)
    assert (settings["learning_rate"], settings["epochs"], settings["grad_clip"]) == (0.003, 15, 1.0)


@pytest.mark.slow
def test_train_script_runs_data_parallel_under_torchrun(tmp_path):
    logistic = chain(("pixels", "Input", {"shape": [64]}), ("perceptron", "Linear", {"out_features": 10}),
                     ("scores", "Output", {}))  # the old perceptron template: logistic regression on digits
    export_python(logistic, tmp_path / "model.py", with_training=True)
    x, y = _digits()
    np.savez(tmp_path / "digits.npz", x=x.reshape(len(x), 64), y=y)
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "train.py", "digits.npz", "--epochs", "2", "--out", "ddp.safetensors"],
                            capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = _epoch_lines(result.stdout)
    assert len(epochs) == 2, result.stdout  # printed by the first process only
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert set(load_file(str(tmp_path / "ddp.safetensors"))) == {"perceptron.weight", "perceptron.bias"}


def test_train_script_keeps_frozen_layers_and_honours_lr_mult(tmp_path, monkeypatch, capsys):
    graph = load_template("mlp")
    graph.set_training({"epochs": 1, "seed": 5})
    graph.set_params("hidden1", {**graph.node("hidden1").params, "trainable": False})
    graph.set_params("hidden2", {**graph.node("hidden2").params, "lr_mult": 0.0})
    export_python(graph, tmp_path / "net.py", with_training=True)
    assert 'LAYERS = {"hidden1": (False, 1.0), "hidden2": (True, 0.0)}' in (tmp_path / "train.py").read_text()
    x, y = _digits()
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    monkeypatch.chdir(tmp_path)
    script = import_file(tmp_path / "train.py", "generated_frozen_train")
    assert script.main(["digits.npz", "--out", "w.safetensors"]) == 0
    torch.manual_seed(5)
    start = import_file(tmp_path / "net.py", "frozen_net").MLP().state_dict()
    trained = load_file(str(tmp_path / "w.safetensors"))
    for key in ("hidden1.weight", "hidden1.bias", "hidden2.weight", "hidden2.bias"):
        assert torch.equal(trained[key], start[key]), key
    assert not torch.equal(trained["classes.weight"], start["classes.weight"])
    assert "lr 0.001" in capsys.readouterr().out  # the run's rate, not a layer's
