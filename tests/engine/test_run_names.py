"""RunNames and the re-keying of a run's history after nodes were renamed (issue 13)."""

from __future__ import annotations

import numpy as np

from graph_engine.training.history import RunHistory
from graph_engine.training.run_names import RunNames, rename_in_event, rename_in_history


def test_renames_chain_and_an_undo_renames_back():
    names = RunNames()
    assert not names and names.to_document("conv1") == "conv1"
    names.rename("conv1", "features")
    names.rename("features", "stem")
    assert names.to_document("conv1") == "stem"
    assert names.run_id("stem", ["image", "conv1", "relu1"]) == "conv1"
    names.rename("stem", "features")  # undo
    names.rename("features", "conv1")  # undo
    assert names.to_document("conv1") == "conv1" and names.run_id("conv1", ["conv1"]) == "conv1"


def test_a_new_node_taking_an_old_id_is_not_the_renamed_one():
    names = RunNames()
    names.rename("conv1", "features")  # then a new node is added and called conv1
    assert names.to_document("conv1") == "features"
    assert names.run_id("conv1", ["conv1"]) == "conv1"  # no run node is the new one: asked as is


def _events() -> list[dict]:
    entry = {"mean": 0.1, "std": 1.0, "dead_fraction": 0.0, "saturated_fraction": 0.0,
             "counts": [1, 2, 3], "range": [0.0, 1.0]}
    return [
        {"type": "started", "run_dir": "/tmp/r", "task": "classification", "dataset": "digits", "device": "cpu",
         "steps_per_epoch": 1, "total_steps": 1, "activation_nodes": ["conv1", "relu1"]},
        {"type": "probe", "kind": "activations", "step": 1, "data": {"conv1": entry, "relu1": entry}},
        {"type": "probe", "kind": "gradients", "step": 1,
         "data": {"norms": {"conv1": 1.0}, "update_ratios": {"conv1": 0.01}}},
        {"type": "probe", "kind": "feature_maps", "step": 1, "data": {"conv1": np.zeros((2, 3, 3))}},
        {"type": "probe", "kind": "filters", "step": 1, "data": {"node": "conv1", "filters": np.zeros((2, 1, 3, 3))}},
        {"type": "failed", "message": "NaN", "node": "conv1"},
    ]


def _nodes_named(history: RunHistory) -> set[str]:
    probes = history.probes
    return {*history.activation_nodes, *history.gradients, *history.histograms, *history.activation_series,
            *probes["activations"].data, *probes["feature_maps"].data, *probes["gradients"].data["norms"],
            probes["filters"].data["node"], history.failed_node}


def test_events_renamed_on_the_way_in_equal_a_history_renamed_afterwards():
    rename = {"conv1": "features"}.get
    renamed_in = RunHistory()
    renamed_in.apply_all(rename_in_event(e, lambda n: rename(n, n)) for e in _events())
    renamed_after = RunHistory()
    renamed_after.apply_all(_events())
    version = renamed_after.version
    rename_in_history(renamed_after, lambda n: rename(n, n))
    assert renamed_after.version > version
    assert _nodes_named(renamed_in) == _nodes_named(renamed_after) == {"features", "relu1"}
    rename_in_history(renamed_after, lambda n: "conv1" if n == "features" else n)  # the undo
    assert _nodes_named(renamed_after) == {"conv1", "relu1"}


def test_events_without_node_ids_pass_unchanged():
    event = {"type": "step", "step": 3, "epoch": 1, "loss": 0.5, "lr": 0.1, "time": 1.0}
    assert rename_in_event(event, str.upper) is event
