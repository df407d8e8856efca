"""Import keeps the module hierarchy (issue 14): each module class becomes a block definition,
instances of one structure share it with block params for what differs, another structure is
another definition; the outputs are the flat import's, bit for bit, with the same weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from app.cli import main
from graph_engine import analyze, generate_code, load_graph
from graph_engine.interop import import_module_object
from graph_engine.interop.importer import compiled_with

MODEL = Path(__file__).with_name("resnet50_model.py")


class Block(nn.Module):
    def __init__(self, channels: int, project: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.project = nn.Conv2d(channels, channels, 1) if project else None

    def forward(self, x):
        skip = self.project(x) if self.project is not None else x
        return self.relu(self.conv2(self.relu(self.conv1(x))) + skip)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.first = Block(4)
        self.widen = nn.Conv2d(4, 6, 1)
        self.second = Block(6)
        self.third = Block(6, project=True)
        self.head = nn.Linear(6 * 8 * 8, 5)

    def forward(self, x):
        x = self.third(self.second(self.widen(self.first(self.act(self.conv(x))))))
        return self.head(torch.flatten(x, 1))


def _outputs(graph, state, x):
    with torch.no_grad():
        return compiled_with(graph, state).eval()(x)


def test_a_module_class_becomes_one_definition_with_params_for_what_differs():
    torch.manual_seed(0)
    model = Net().eval()
    flat = import_module_object(model, (3, 8, 8))
    nested = import_module_object(model, (3, 8, 8), nested=True)
    graph = nested.graph
    assert set(graph.blocks) == {"Block", "Block_2", "Stem"}
    assert {graph.node(n).type for n in ("first", "second")} == {"Block"} and graph.node("third").type == "Block_2"
    assert graph.node("first").params != graph.node("second").params  # 4 and 6 channels
    assert [p.name for p in graph.blocks["Block"].params] == ["conv1_out_channels", "conv2_out_channels"]
    assert "first.conv1.weight" in nested.state and "stem.conv.weight" in nested.state
    assert analyze(graph).total_params == analyze(flat.graph).total_params
    x = torch.randn(3, 3, 8, 8)
    assert torch.equal(_outputs(graph, nested.state, x), _outputs(flat.graph, flat.state, x))
    assert nested.max_difference == flat.max_difference
    assert "class Block(nn.Module)" in generate_code(graph)


@pytest.mark.slow
def test_resnet18_reads_as_a_stem_eight_basic_blocks_a_pool_and_fc():
    from tests.engine.test_import_torchvision import MODELS

    torch.manual_seed(0)
    model = MODELS.resnet18(weights=None).eval()
    flat = import_module_object(model, (3, 64, 64))
    nested = import_module_object(model, (3, 64, 64), nested=True)
    graph = nested.graph
    assert len(graph) <= 16, list(graph.nodes)
    assert sum(n.type.startswith("BasicBlock") for n in graph) == 8
    assert {"BasicBlock", "Stem"} <= set(graph.blocks)
    assert analyze(graph).total_params == analyze(flat.graph).total_params == 11_689_512
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(_outputs(graph, nested.state, x), _outputs(flat.graph, flat.state, x))
    assert "class BasicBlock(nn.Module)" in generate_code(graph)


@pytest.mark.slow
def test_the_cli_imports_with_blocks_and_the_weights_give_the_flat_imports_outputs(tmp_path, capsys):
    seeded = tmp_path / "seeded.py"  # each import is a process of its own: the same weights in both
    seeded.write_text("import sys, torch\n"
                      f"sys.path.insert(0, {str(MODEL.parent)!r})\n"
                      "from resnet50_model import ResNet50\n"
                      "def make():\n    torch.manual_seed(0)\n    return ResNet50()\n", encoding="utf-8")
    outputs = {}
    for how in ("nested", "flat"):
        out, weights = tmp_path / f"{how}.json", tmp_path / f"{how}.safetensors"
        extra = ["--flat"] if how == "flat" else []
        assert main(["import", f"{seeded}:make", "-o", str(out), "--input-shape", "3,64,64",
                     "--weights", str(weights), *extra]) == 0
        graph = load_graph(out)
        torch.manual_seed(1)
        outputs[how] = (graph, _outputs(graph, load_file(weights), torch.randn(2, 3, 64, 64)))
    nested, flat = outputs["nested"][0], outputs["flat"][0]
    assert len(flat) == 177 and len(nested) <= 24 and any(name.startswith("Bottleneck") for name in nested.blocks)
    assert torch.equal(outputs["nested"][1], outputs["flat"][1])
    assert "block definitions" in capsys.readouterr().out
