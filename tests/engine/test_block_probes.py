"""Training a graph whose layers sit inside blocks (dotted node ids such as "stage1.conv1",
nested submodules): the Filters probe and the non-finite checks must find those layers."""

from __future__ import annotations

import dataclasses

import torch

from graph_engine import load_template
from graph_engine.compiler import node_module
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.nonfinite import gradient_diagnosis, non_finite_weights


def _small_vgg_trainer(tmp_path, events):
    graph = load_template("vgg_style")  # its convolutions live in blocks: stage1.conv1, ...
    settings = settings_from_dict(graph.training, epochs=1, batch_size=16)
    data = load_dataset_for(graph, settings)
    data = dataclasses.replace(data, x_train=data.x_train[:48], y_train=data.y_train[:48],
                               x_val=data.x_val[:16], y_val=data.y_val[:16])
    return Trainer(graph, data, settings, events.append, tmp_path / "run")


def test_a_network_of_blocks_trains_with_its_filters_probed(tmp_path):
    events = []
    trainer = _small_vgg_trainer(tmp_path, events)
    result = trainer.run()
    assert result.status == "completed", result.message
    filters = [e["data"] for e in events if e["type"] == "probe" and e["kind"] == "filters"]
    assert filters and filters[0]["node"] == "stage1.conv1"
    assert filters[0]["filters"].shape == tuple(trainer.model.get_submodule("stage1.conv1").weight.shape)


def test_non_finite_weights_and_gradients_inside_a_block_are_named(tmp_path):
    trainer = _small_vgg_trainer(tmp_path, [])
    module = node_module(trainer.model, "stage2.conv1")
    assert module is not None and node_module(trainer.model, "no.such.node") is None
    assert non_finite_weights(trainer.model, trainer.analysis) is None
    module.weight.grad = torch.full_like(module.weight, float("inf"))
    assert gradient_diagnosis(trainer.model, trainer.analysis, 3)[1] == "stage2.conv1"
    with torch.no_grad():
        module.weight[0, 0, 0, 0] = float("nan")
    assert non_finite_weights(trainer.model, trainer.analysis) == "stage2.conv1"
