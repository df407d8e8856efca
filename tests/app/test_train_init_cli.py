"""rosenblatt train --init RUN_DIR|WEIGHTS [--init-map FILE]: transfer on real data, and its refusals."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from app.cli import main
from graph_engine import load_template, save_graph
from graph_engine.training import read_metrics


@pytest.fixture
def mlp_file(tmp_path):
    path = tmp_path / "mlp.json"
    save_graph(load_template("mlp"), path)
    return path


def _first_accuracy(run_dir) -> float:
    return next(r["val"]["accuracy"] for r in read_metrics(run_dir / "metrics.jsonl") if r["type"] == "epoch")


@pytest.mark.slow
def test_a_run_started_from_a_five_epoch_run_beats_a_fresh_one_after_its_first_epoch(capsys, tmp_path, mlp_file):
    parent, branch, fresh = tmp_path / "parent", tmp_path / "branch", tmp_path / "fresh"
    assert main(["train", str(mlp_file), "--epochs", "5", "--out", str(parent)]) == 0
    graph = load_template("mlp")
    graph.set_params("classes", {**graph.node("classes").params, "init": "zeros"})
    edited = tmp_path / "edited.json"
    save_graph(graph, edited)
    capsys.readouterr()
    assert main(["train", str(edited), "--epochs", "1", "--out", str(branch), "--init", str(parent)]) == 0
    err = capsys.readouterr().err
    assert f"starting from {parent} (epoch 5): carried 6 tensors" in err
    assert main(["train", str(mlp_file), "--epochs", "1", "--out", str(fresh)]) == 0
    assert _first_accuracy(branch) > _first_accuracy(fresh)
    settings = json.loads((branch / "settings.json").read_text(encoding="utf-8"))
    assert settings["init_from"] == str(parent)
    record = read_metrics(branch / "metrics.jsonl")[0]
    assert record["type"] == "branch" and record["run"] == str(parent) and record["epoch"] == 5


def test_bad_init_sources_are_one_line_refusals(capsys, tmp_path, mlp_file):
    out = str(tmp_path / "never")

    def refused(*extra: str) -> str:
        assert main(["train", str(mlp_file), "--epochs", "1", "--out", out, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        return err.strip()

    assert refused("--init", str(tmp_path / "missing")) == (
        f"rosenblatt train: {tmp_path / 'missing'}: no such run folder or weights file")
    alien = tmp_path / "alien.safetensors"
    save_file({"encoder.weight": torch.zeros(3, 3)}, alien)
    assert refused("--init", str(alien)).startswith(
        f"rosenblatt train: {alien}: the weights fit nothing in 'MLP'")
    weights = tmp_path / "weights.pth"
    torch.manual_seed(0)
    torch.save({"hidden1.weight": torch.zeros(128, 64)}, weights)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"hidden1": "encoder"}), encoding="utf-8")
    assert refused("--init", str(weights), "--init-map", str(mapping)) == (
        "rosenblatt train: init map: 'encoder' is not a node of 'MLP'")
    assert refused("--init-map", str(mapping)) == "rosenblatt train: --init-map goes with --init RUN_DIR|FILE"
    assert not (tmp_path / "never").exists()  # refused before any run folder
