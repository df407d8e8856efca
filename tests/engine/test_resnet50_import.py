"""The hand-written ResNet-50 (tests/engine/resnet50_model.py) imports as torchvision's does:
177 nodes, 25,557,032 parameters, its stages named layer1..layer4 (the README's picture)."""

import json
from pathlib import Path

import pytest

from app.cli import main
from graph_engine import analyze, load_graph

MODEL = Path(__file__).with_name("resnet50_model.py")


@pytest.mark.slow
def test_the_hand_written_resnet50_imports_with_177_nodes(tmp_path, capsys):
    out = tmp_path / "resnet50.json"
    assert main(["import", f"{MODEL}:ResNet50", "-o", str(out), "--input-shape", "3,224,224", "--flat"]) == 0
    graph = load_graph(out)
    assert len(graph) == 177
    assert analyze(graph).total_params == 25_557_032
    assert {n.split("_")[0] for n in graph.nodes if n.startswith("layer")} == {"layer1", "layer2", "layer3", "layer4"}
    assert json.loads(out.read_text())["name"] == "ResNet50"
