"""Exported Python: standalone, readable, same state_dict keys and outputs as the compiled module."""

import ast
import importlib.util
import sys

import pytest
import torch

from graph_engine import compile_graph, generate_code, list_templates, load_template


def _import_source(tmp_path, source, name):
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", [t.key for t in list_templates()])
def test_exported_module_matches_compiled(tmp_path, key):
    graph = load_template(key)
    source = generate_code(graph)
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"torch", "nn", "torch.nn", "functional"}, imported
    module = _import_source(tmp_path, source, f"exported_{key}")
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    exported = getattr(module, classes[-1])()  # the model: after the block classes it uses
    compiled = compile_graph(graph, device="cpu")
    assert sorted(exported.state_dict()) == sorted(compiled.state_dict())  # by name (blocks: another order)
    exported.load_state_dict(compiled.state_dict())
    exported.eval()
    compiled.eval()
    torch.manual_seed(0)
    xs = []
    for node in (n for n in graph if n.type == "Input"):  # every Input, in file order
        shape = (3, *node.params["shape"])
        xs.append(torch.randint(0, 8, shape) if node.params["dtype"] == "int64" else torch.randn(shape))
    with torch.no_grad():
        torch.testing.assert_close(exported(*xs), compiled(*xs), rtol=0, atol=0)


def test_exported_code_reads_like_hand_written_code():
    source = generate_code(load_template("lenet5"))
    assert "class LeNet5(nn.Module):" in source
    assert "self.c1 = nn.Conv2d(1, 6, kernel_size=5)  # -> 6×28×28" in source
    assert "        c1 = self.c1(image)\n" in source
    assert "        return f7\n" in source


@pytest.mark.slow
def test_exported_script_runs_standalone(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(generate_code(load_template("resnet_style")), encoding="utf-8")
    import subprocess
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch.Size([2, 10])"


def _run_main(tmp_path, graph):
    import subprocess

    path = tmp_path / "model.py"
    path.write_text(generate_code(graph), encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_an_add_of_thousands_of_inputs_exports_a_module_that_imports(tmp_path):
    """Issue 17, item 9: the sum was one nested expression; Python's parser gave up."""
    from graph_engine import Graph

    graph = Graph("wide sum")
    graph.create_node("Input", {"shape": [2]}, node_id="x")
    graph.create_node("Add", {}, node_id="total")
    graph.create_node("Output", {}, node_id="y")
    for port in range(3000):
        graph.connect("x", "total", port=port)
    graph.connect("total", "y")
    result = _run_main(tmp_path, graph)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "torch.Size([2, 2])"


@pytest.mark.slow
def test_the_self_test_feeds_tokens_every_embedding_accepts(tmp_path):
    """Issue 17, item 9: with num_embeddings 1 the self-test drew token 1 and crashed."""
    from graph_engine import Graph

    graph = Graph("one word")
    graph.create_node("Input", {"shape": [4], "dtype": "int64"}, node_id="tokens")
    graph.create_node("Embedding", {"num_embeddings": 1, "embedding_dim": 3}, node_id="embed")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("tokens", "embed")
    graph.connect("embed", "y")
    result = _run_main(tmp_path, graph)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "torch.Size([2, 4, 3])"
