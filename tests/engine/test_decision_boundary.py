"""The decision-boundary probe: the plane's predicted classes, the points, the hidden units."""

import numpy as np
import torch

from graph_engine import analyze, compile_graph, load_template
from graph_engine.probes import decision_boundary, hidden_units, takes_two_features
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from tests.engine.helpers import chain


def test_a_linear_unit_splits_the_plane_along_its_line():
    graph = chain(("x", "Input", {"shape": [2]}), ("fc", "Linear", {"out_features": 1}), ("y", "Output", {}))
    model = compile_graph(graph)
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor([[1.0, 0.0]]))  # f(x) = x1: class 1 right of the y axis
        model.fc.bias.zero_()
    points = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.5, -0.5]])
    result = decision_boundary(model, analyze(graph), points, torch.tensor([-1.0, 1.0, -1.0]), perceptron=True,
                               resolution=10)
    assert result["predicted"].shape == (10, 10) and result["predicted"].dtype == np.uint8
    assert (result["predicted"][:, :5] == 0).all() and (result["predicted"][:, 5:] == 1).all()
    assert result["labels"].tolist() == [0, 1, 0]
    assert abs(result["train_accuracy"] - 2 / 3) < 1e-6  # (0.5, -0.5) is on the wrong side
    x0, x1, y0, y1 = result["extent"]
    assert x0 < -1 < 1 < x1 and y0 < -1 < 1 < y1


def test_a_classifier_on_spiral_streams_its_boundary_and_hidden_units(tmp_path):
    graph = load_template("playground")
    settings = settings_from_dict(graph.training, epochs=2, probe_every=10, probe_unit="steps")
    events = []
    Trainer(graph, load_dataset_for(graph, settings), settings, events.append, tmp_path / "run").run()
    found = [e for e in events if e["type"] == "probe" and e["kind"] == "boundary"]
    assert len(found) == 5 + 2  # every 10 of 50 steps (0, 10, .., 40), and at both epochs' ends
    data = found[-1]["data"]
    assert data["points"].shape == (400, 2) and set(np.unique(data["labels"])) == {0, 1}
    assert set(data["hidden"]) == {"relu1", "relu2"} and data["hidden"]["relu1"].shape == (16, 96, 96)
    assert 0.5 < data["train_accuracy"] <= 1.0


def test_only_two_feature_graphs_get_a_boundary():
    assert takes_two_features((2,), "float32") and not takes_two_features((2,), "int64")
    assert not takes_two_features((1, 8, 8), "float32")
    graph = load_template("playground")
    analysis = analyze(graph)
    assert hidden_units(compile_graph(graph), analysis, "label") == ["relu1", "relu2"]
