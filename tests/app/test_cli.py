"""The rosenblatt CLI: summary (table and JSON), export, exit codes, no tracebacks."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from graph_engine import load_template, save_graph


@pytest.fixture
def lenet_file(tmp_path):
    path = tmp_path / "lenet.json"
    save_graph(load_template("lenet5"), path)
    return path


def test_summary_table(capsys, lenet_file):
    assert main(["summary", str(lenet_file)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "LeNet-5"
    c1 = next(line for line in out.splitlines() if line.startswith("c1 "))
    assert c1.split() == ["c1", "Conv2d", "6×28×28", "156", "117,600", "5×5", "(jump", "1×1)"]
    assert out.splitlines()[-2:] == ["inputs: image (1×32×32)", "outputs: scores (10)"]
    assert out.splitlines()[-3].split() == ["total", "61,706", "416,520"]


def test_summary_json(capsys, lenet_file):
    assert main(["summary", str(lenet_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"inputs", "outputs", "nodes", "total_params", "total_macs", "errors", "warnings"}
    assert [(e["id"], e["shape"], e["dtype"]) for e in data["inputs"]] == [("image", [1, 32, 32], "float")]
    first_conv = data["nodes"][1]
    assert first_conv == {"id": "c1", "type": "Conv2d", "output_shape": [6, 28, 28],
                          "output_shapes": [[6, 28, 28]], "params": 156,
                          "macs": 117600, "receptive_field": {"size": [5.0, 5.0], "jump": [1.0, 1.0],
                                                              "start": [2.5, 2.5]}}
    assert data["total_params"] == 61706 and data["errors"] == []


def test_graph_errors_exit_1_and_print_node_message(capsys, tmp_path):
    graph = load_template("mlp")
    graph.remove_node("flatten")
    graph.connect("pixels", "hidden1")
    path = tmp_path / "broken.json"
    save_graph(graph, path)
    assert main(["summary", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error: hidden1: Linear needs flat (features) input, got 1×8×8" in out
    assert main(["summary", str(path), "--json"]) == 1
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert errors == [{"node": "hidden1", "message": "Linear needs flat (features) input, got 1×8×8; "
                                                     "insert a Flatten", "fix": "Insert a Flatten"}]
    assert main(["export", str(path), "-o", str(tmp_path / "m.py")]) == 1
    assert not (tmp_path / "m.py").exists()


def test_unreadable_file_exits_2_with_one_line(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{nope", encoding="utf-8")
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert f"{path}: invalid JSON at line 1, column 2" in err


def test_export_python(capsys, tmp_path, lenet_file):
    target = tmp_path / "model.py"
    assert main(["export", str(lenet_file), "--to", "python", "-o", str(target)]) == 0
    assert "class LeNet5(nn.Module)" in target.read_text(encoding="utf-8")


def test_no_arguments_opens_the_editor(monkeypatch):
    from app import cli
    seen = []
    monkeypatch.setattr(cli, "cmd_gui", lambda args: seen.append(args) or 0)
    assert main([]) == 0
    assert len(seen) == 1 and seen[0].file is None and seen[0].command == "gui"


def test_templates_listing_and_template_paths(capsys):
    assert main(["templates"]) == 0
    assert "digits_cnn" in capsys.readouterr().out
    assert main(["summary", "template:gru_classifier"]) == 0
    assert main(["summary", "template:nope"]) == 2


@pytest.mark.slow
def test_console_script_has_no_traceback_on_bad_input(tmp_path):
    script = shutil.which("rosenblatt", path=str(Path(sys.executable).parent))
    assert script, "the rosenblatt console script is installed"
    result = subprocess.run([script, "summary", str(tmp_path / "missing.json")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing.json: No such file or directory" in result.stderr


def test_readme_layer_table_is_the_registry():
    from app.cli import layer_table
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert layer_table() in readme, "README's layer table is stale: paste `rosenblatt layers`"
