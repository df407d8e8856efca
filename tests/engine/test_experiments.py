"""Sweep specs, graph comparison, Pareto fronts and trial records (no Qt, no training)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_engine.experiments.diff import describe_changes, graph_changes, run_changes, settings_changes
from graph_engine.experiments.records import pareto_mask, read_trial, run_row, write_trial
from graph_engine.experiments.spec import (
    Objective, SpecError, SweepSpec, apply_values, build_spec, compatible_types, format_number,
)
from graph_engine.experiments.worker import run_name
from graph_engine.templates import load_template


@pytest.fixture
def mlp():
    return load_template("mlp")


def test_type_param_and_setting_variations_apply_to_a_copy(mlp):
    variant = apply_values(mlp, {"relu1.type": "Tanh", "hidden1.out_features": 64,
                                 "training.learning_rate": 1e-2})
    assert variant.node("relu1").type == "Tanh"
    assert variant.node("hidden1").params["out_features"] == 64
    assert variant.training["learning_rate"] == 1e-2
    assert mlp.node("relu1").type == "ReLU" and mlp.node("hidden1").params["out_features"] == 128
    assert [(e.source, e.target) for e in variant.in_edges("relu1")] == [("hidden1", "relu1")]
    assert list(variant.nodes) == list(mlp.nodes)  # the swapped node keeps its place


def test_comparison_says_what_differs_in_the_graph_and_the_settings(mlp):
    variant = apply_values(mlp, {"relu1.type": "Tanh", "hidden1.out_features": 64})
    changes = run_changes(mlp, {"learning_rate": 1e-3, "log_every": 10},
                          variant, {"learning_rate": 1e-2, "log_every": 5})
    assert changes == ["hidden1.out_features 128 → 64", "relu1: ReLU → Tanh", "lr 1e-3 → 1e-2"]
    assert describe_changes([]) == "same graph and settings"
    assert describe_changes(changes) == "hidden1.out_features 128 → 64, relu1: ReLU → Tanh, lr 1e-3 → 1e-2"


def test_comparison_names_added_removed_and_rewired_nodes(mlp):
    other = mlp.copy()
    other.remove_node("relu2")
    other.connect("hidden2", "classes")
    changes = graph_changes(mlp, other)
    assert changes[0] == "−relu2 (ReLU)"
    assert changes[1].startswith("wiring +hidden2→classes")
    assert settings_changes({"epochs": 5}, {"epochs": 5}) == []


@pytest.mark.parametrize("text, message", [
    ("nope.type=ReLU", "no node 'nope'"),
    ("relu1.alpha=1", "relu1 (ReLU) has no param 'alpha'"),
    ("hidden1.type=ReLU", "ReLU is a Activation layer"),
    ("relu1.type=Linear", "swap within a kind"),
    ("relu1.type=NoSuchLayer", "no layer type 'NoSuchLayer'"),
    ("training.nope=1,2", "no training setting 'nope'"),
    ("training.learning_rate=log:0:1", "above 0 on a log scale"),
    ("hidden1.out_features=0,8", "out_features"),
    ("relu1.type", "write TARGET=VALUES"),
    ("training.optimizer=log:1:2", "needs a numeric target"),
])
def test_bad_variations_are_refused_in_one_line(mlp, text, message):
    with pytest.raises(SpecError) as error:
        build_spec(mlp, [text], ["val.accuracy:max"])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_swap_keeps_params_the_new_type_shares():
    graph = load_template("mlp")
    graph.set_params("hidden1", {"out_features": 32})
    assert "Tanh" in compatible_types(graph.node("relu1"))
    assert "Linear" not in compatible_types(graph.node("relu1"))
    assert compatible_types(graph.node("hidden1")) == ["Linear"] or "ReLU" not in compatible_types(graph.node("hidden1"))


def test_ranges_lists_and_distributions(mlp):
    spec = build_spec(mlp, ["relu1.type=ReLU,Tanh,Sigmoid", "training.learning_rate=log:1e-4:1e-1:4"],
                      ["val.accuracy:max"])
    assert spec.method == "grid" and spec.trial_count == 12
    assert spec.variations[1].domain.grid_values() == [1e-4, 1e-3, 1e-2, 1e-1]
    assert spec.grid()[0] == {"relu1.type": "ReLU", "training.learning_rate": 1e-4}
    sampled = build_spec(mlp, ["hidden1.out_features=int:16:128:16", "training.weight_decay=uniform:0:0.01"],
                         ["val.accuracy:max", "params:min"], trials=20)
    assert sampled.method == "search" and sampled.trial_count == 20
    with pytest.raises(SpecError, match="sampled, not gridded"):
        build_spec(mlp, ["training.weight_decay=uniform:0:0.01"], ["val.accuracy"], method="grid")
    assert build_spec(mlp, ["hidden1.out_features=lin:16:64"], []).variations[0].domain.grid_values() == [16, 40, 64]


def test_a_spec_file_round_trips(mlp):
    spec = build_spec(mlp, ["relu1.type=ReLU,Tanh", "training.learning_rate=log:1e-4:1e-1"],
                      ["val.accuracy:max", "params:min"], trials=6, settings={"epochs": 2})
    assert SweepSpec.from_dict(spec.to_dict(), mlp) == spec
    assert SweepSpec.from_dict({"vary": {"relu1.type": ["ReLU", "Tanh"]}}, mlp).variations[0].domain.choices == (
        "ReLU", "Tanh")
    with pytest.raises(SpecError, match="unknown key 'vari'"):
        SweepSpec.from_dict({"vari": []}, mlp)


def test_objectives_parse_with_their_usual_direction():
    assert Objective.parse("params") == Objective("params", "min")
    assert Objective.parse("val.loss") == Objective("val.loss", "min")
    assert Objective.parse("val.accuracy") == Objective("val.accuracy", "max")
    with pytest.raises(SpecError, match="use val.METRIC"):
        Objective.parse("accuracy:max")
    with pytest.raises(SpecError, match="min or max"):
        Objective.parse("params:up")


def test_run_names_say_what_the_trial_varies(mlp):
    spec = build_spec(mlp, ["relu1.type=ReLU,Tanh", "training.learning_rate=log:1e-4:1e-1"], [], trials=3)
    assert run_name(7, {"relu1.type": "Tanh", "training.learning_rate": 0.00316}, spec) == "t007-relu1=Tanh-lr=3.16e-3"
    assert format_number(1e-3) == "1e-3" and format_number(0.25) == "0.25"


def test_pareto_front_of_two_objectives():
    points = [(0.9, 1000), (0.8, 500), (0.85, 2000), (0.7, 400), (float("nan"), 10)]
    mask = pareto_mask(points, [True, False])
    assert mask.tolist() == [True, True, False, True, False]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=30))
def test_no_point_on_the_front_is_beaten(points):
    mask = pareto_mask(points, [True, False])
    values = np.asarray(points)
    assert mask.any()
    for i in np.flatnonzero(mask):
        beats = (values[:, 0] >= values[i, 0]) & (values[:, 1] <= values[i, 1]) & (
            (values[:, 0] > values[i, 0]) | (values[:, 1] < values[i, 1]))
        assert not beats.any()
    for i in np.flatnonzero(~mask):
        beats = (values[:, 0] >= values[i, 0]) & (values[:, 1] <= values[i, 1]) & (
            (values[:, 0] > values[i, 0]) | (values[:, 1] < values[i, 1]))
        assert beats.any()


def test_a_trial_record_becomes_a_table_row(tmp_path):
    run = tmp_path / "t001-relu1=Tanh"
    run.mkdir()
    (run / "dataset.json").write_text('{"task": "classification", "name": "digits"}')
    (run / "metrics.jsonl").write_text(
        '{"type": "step", "step": 1, "epoch": 1, "loss": 2.0, "lr": 0.001, "time": 0.5}\n'
        '{"type": "step", "step": 11, "epoch": 1, "loss": 1.0, "lr": 0.001, "time": 1.5}\n'
        '{"type": "epoch", "step": 11, "epoch": 1, "time": 1.6, "val": {"loss": 1.0, "accuracy": 0.7}, "best": true}\n'
        '{"type": "epoch", "step": 22, "epoch": 2, "time": 3.0, "val": {"loss": 0.9, "accuracy": 0.8}, "best": true}\n')
    write_trial(run, {"study": "s", "number": 1, "values": {"relu1.type": "Tanh"}, "params": 100, "macs": 90,
                      "state": "complete", "objectives": {"val.accuracy": 0.8}})
    row = run_row(run)
    assert (row.status, row.metric_name, row.best_metric, row.best_epoch) == ("complete", "accuracy", 0.8, 2)
    assert (row.params, row.macs, row.trial, row.varied) == (100, 90, 1, {"relu1.type": "Tanh"})
    assert row.steps_per_s == pytest.approx(10.0) and row.wall_time == 3.0
    assert read_trial(tmp_path) == {}
