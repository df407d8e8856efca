"""Starting from other weights (carry by node id and shape, renames, refusals), freezing and
per-layer learning rates."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from graph_engine import compile_graph, load_template
from graph_engine.training import Trainer, load_dataset_for, read_metrics, settings_from_dict
from graph_engine.training.optimizers import param_groups
from graph_engine.training.transfer import (
    TransferError, carry_weights, load_source, read_mapping,
)


def _mlp_state(**changes) -> dict[str, torch.Tensor]:
    graph = load_template("mlp")
    for node_id, params in changes.items():
        graph.set_params(node_id, {**graph.node(node_id).params, **params})
    torch.manual_seed(3)
    return {k: v.clone() for k, v in compile_graph(graph, device="cpu").state_dict().items()}


def _target(**changes):
    graph = load_template("mlp")
    for node_id, params in changes.items():
        graph.set_params(node_id, {**graph.node(node_id).params, **params})
    torch.manual_seed(4)
    return graph, compile_graph(graph, device="cpu")


def test_tensors_are_carried_where_id_and_shape_match_and_the_report_says_what(tmp_path):
    source_path = tmp_path / "w.safetensors"
    save_file({f"model.{k}": v for k, v in _mlp_state(classes={"out_features": 5}).items()}, source_path)
    graph, model = _target()
    source = load_source(source_path)
    report = carry_weights(model, source, set(graph.nodes), graph.name)
    assert report.text() == ("carried 4 tensors, 2 skipped (classes.weight shape 5×64 ≠ 10×64, "
                             "classes.bias shape 5 ≠ 10)")
    assert torch.equal(model.state_dict()["hidden1.weight"], source.state["hidden1.weight"])
    assert not torch.equal(model.state_dict()["classes.bias"][:5], source.state["classes.bias"])


def test_a_renamed_node_is_carried_through_the_mapping_and_new_nodes_are_named(tmp_path):
    state = _mlp_state()
    state["head.weight"] = state.pop("classes.weight")
    state["head.bias"] = state.pop("classes.bias")
    del state["hidden2.weight"], state["hidden2.bias"]
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"head": "classes"}), encoding="utf-8")
    graph, model = _target()
    report = carry_weights(model, load_source(path), set(graph.nodes), graph.name, read_mapping(mapping))
    assert report.text() == "carried 4 tensors, 2 new (hidden2.weight, hidden2.bias)"
    assert torch.equal(model.state_dict()["classes.weight"], state["head.weight"])


def test_a_pth_file_is_read_only_as_weights(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "payload": _Payload()}, path)
    with pytest.raises(TransferError, match=r"evil.pth: not a state dict torch.load\(weights_only=True\) can read"):
        load_source(path)
    nested = tmp_path / "nested.pth"
    torch.save({"state_dict": _mlp_state(), "epoch": 3}, nested)
    assert "hidden1.weight" in load_source(nested).state


class _Payload:
    """What a pickle may carry besides tensors: never to be unpickled."""


def test_bad_sources_are_one_line_refusals(tmp_path):
    graph, model = _target()
    with pytest.raises(TransferError, match=r"nowhere: no such run folder or weights file"):
        load_source(tmp_path / "nowhere")
    alien = tmp_path / "alien.safetensors"
    save_file({"encoder.weight": torch.zeros(3, 3)}, alien)
    with pytest.raises(TransferError) as refused:
        carry_weights(model, load_source(alien), set(graph.nodes), graph.name)
    assert str(refused.value) == (f"{alien}: the weights fit nothing in 'MLP' (no tensor with a matching "
                                  "node id and shape, e.g. encoder.weight); rename with --init-map or "
                                  "start fresh")
    with pytest.raises(TransferError, match=r"init map: 'head' is not a node of 'MLP'"):
        carry_weights(model, load_source(alien), set(graph.nodes), graph.name, {"encoder": "head"})
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TransferError, match="must be a JSON object of node ids"):
        read_mapping(tmp_path / "bad.json")
    (tmp_path / "run").mkdir()
    with pytest.raises(TransferError, match="no checkpoint"):
        load_source(tmp_path / "run")


def test_param_groups_follow_lr_mult_and_leave_frozen_layers_out():
    graph, model = _target(hidden1={"trainable": False}, classes={"lr_mult": 10.0})
    groups = param_groups(model, graph)
    assert sorted((g["lr_mult"], len(g["params"])) for g in groups) == [(1.0, 2), (10.0, 2)]
    assert not model.hidden1.weight.requires_grad
    everything = {n.id: {"trainable": False} for n in graph if n.type == "Linear"}
    graph, model = _target(**everything)
    with pytest.raises(ValueError, match="every layer is frozen"):
        param_groups(model, graph)


def test_frozen_weights_are_bit_identical_after_training(tmp_path):
    graph = load_template("mlp")
    graph.set_params("hidden1", {**graph.node("hidden1").params, "trainable": False})
    graph.set_params("hidden2", {**graph.node("hidden2").params, "lr_mult": 0.0})
    settings = settings_from_dict(graph.training, epochs=1, probe_every=0, weight_decay=0.01,
                                  optimizer="sgd")
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, run_dir=tmp_path / "run",
                      probes=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    assert trainer.run().status == "completed"
    after = trainer.model.state_dict()
    for key in ("hidden1.weight", "hidden1.bias", "hidden2.weight", "hidden2.bias"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["classes.weight"], after["classes.weight"])
    lrs = [r["lr"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["type"] == "step"]
    assert lrs and set(lrs) == {settings.learning_rate}  # the run's rate, not a layer's
