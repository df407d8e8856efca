"""Health verdicts (graph_engine.training.health) from hand-made probe events and a real run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.health import (
    DEAD_FRACTION, EXPLODING_NORM, EXPLODING_RATIO, SATURATED_FRACTION, VANISHING_NORM, node_health,
    overlay_values, percent, sci,
)
from graph_engine.training.history import RunHistory


def _entry(**extra) -> dict:
    """One node's activation statistics, as the probe sends them."""
    entry = {"mean": 0.5, "std": 0.3, "min": 0.0, "max": 2.0, "nonfinite_fraction": 0.0,
             "range": (0.0, 2.0), "counts": [1.0] * 32, "below": 0, "above": 0}
    entry.update(extra)
    return entry


def _history(activations: dict | None = None, norms: dict | None = None, ratios: dict | None = None,
             step: int = 10) -> RunHistory:
    history = RunHistory()
    if activations is not None:
        history.apply({"type": "probe", "kind": "activations", "step": step, "data": activations})
    if norms is not None:
        history.apply({"type": "probe", "kind": "gradients", "step": step,
                       "data": {"norms": norms, "update_ratios": ratios or {}}})
    return history


# -- flags from hand-made probes ---------------------------------------------------------
def test_dead_units_are_flagged_with_the_share_in_the_message():
    history = _history({"relu1": _entry(dead_fraction=0.1, dead_units=3),
                        "relu2": _entry(dead_fraction=0.834, dead_units=27)})
    flags = node_health(history)
    assert list(flags) == ["relu2"]
    flag = flags["relu2"]
    assert flag.kind == "dead"
    assert flag.message == "relu2: 83 % of units dead (ReLU outputs all zero)"
    assert flag.value == pytest.approx(0.834)


def test_thresholds_are_inclusive_at_the_named_constants():
    at = _history({"a": _entry(dead_fraction=DEAD_FRACTION),
                   "b": _entry(saturated_fraction=SATURATED_FRACTION),
                   "c": _entry(dead_fraction=DEAD_FRACTION - 0.01),
                   "d": _entry(saturated_fraction=SATURATED_FRACTION - 0.01)})
    flags = node_health(at)
    assert {n: f.kind for n, f in flags.items()} == {"a": "dead", "b": "saturated"}
    assert "50 % of outputs saturated" in flags["b"].message


def test_gradient_flags_name_the_number():
    history = _history(norms={"fc1": 3e-9, "fc2": 2.5e4, "conv1": 0.2, "conv2": 0.3},
                       ratios={"fc1": 1e-6, "fc2": 1e-3, "conv1": 1e-3, "conv2": 0.4})
    flags = node_health(history)
    assert {n: f.kind for n, f in flags.items()} == {"fc1": "vanishing", "fc2": "exploding",
                                                     "conv2": "exploding"}
    assert flags["fc1"].message == "fc1: gradient norm 3.0e-9 — vanishing"
    assert flags["fc2"].message == "fc2: gradient norm 2.5e+4 — exploding"
    assert "update/weight ratio 0.4" in flags["conv2"].message
    # just inside the limits: no flag
    calm = _history(norms={"a": VANISHING_NORM, "b": EXPLODING_NORM},
                    ratios={"a": 1e-3, "b": EXPLODING_RATIO})
    assert node_health(calm) == {}


def test_the_newest_probe_decides():
    history = _history({"relu1": _entry(dead_fraction=0.9)}, step=5)
    assert node_health(history)["relu1"].kind == "dead"
    history.apply({"type": "probe", "kind": "activations", "step": 9,
                   "data": {"relu1": _entry(dead_fraction=0.2)}})
    assert node_health(history) == {}


def test_non_finite_outputs_outrank_other_problems():
    history = _history({"relu1": _entry(dead_fraction=0.9, nonfinite_fraction=0.25)})
    flag = node_health(history)["relu1"]
    assert flag.kind == "non_finite"
    assert flag.message == "relu1: 25 % of outputs are NaN/Inf"


def test_a_failed_run_flags_the_named_node_first():
    history = _history({"relu1": _entry(dead_fraction=0.9), "conv2": _entry()}, norms={"conv2": math.nan})
    history.apply({"type": "failed", "message": "non-finite values (NaN) first appear in the output "
                   "of 'conv2' (Conv2d) at step 11", "node": "conv2", "step": 11, "epoch": 1})
    flags = node_health(history)
    assert list(flags) == ["conv2", "relu1"]
    assert flags["conv2"].kind == "non_finite"
    assert flags["conv2"].message.startswith("conv2: non-finite values (NaN/Inf)")
    # a failure without a node (e.g. out of memory) flags nothing by itself
    other = RunHistory()
    other.apply({"type": "failed", "message": "out of memory", "node": None, "step": 1, "epoch": 0})
    assert node_health(other) == {}


def test_no_probes_no_flags():
    assert node_health(RunHistory()) == {}
    assert overlay_values(RunHistory(), "dead") == {}
    assert overlay_values(RunHistory(), "gradient") == {}


# -- overlay values ------------------------------------------------------------------------
def test_dead_overlay_lists_rectifiers_only():
    history = _history({"conv1": _entry(), "relu1": _entry(dead_fraction=0.834),
                        "tanh": _entry(saturated_fraction=0.6)})
    assert overlay_values(history, "dead") == {"relu1": (pytest.approx(0.834), "83 % dead")}
    assert overlay_values(history, "saturated") == {"tanh": (pytest.approx(0.6), "60 % saturated")}


def test_gradient_overlay_is_log_scaled_from_1e_8_to_1e2():
    history = _history(norms={"a": 1e-8, "b": 1e-3, "c": 1e2, "d": 1e-12, "e": 1e5, "f": math.inf,
                              "g": 3.2e-3})
    values = overlay_values(history, "gradient")
    assert values["a"][0] == pytest.approx(0.0)
    assert values["b"] == (pytest.approx(0.5), "‖g‖ 1.0e-3")
    assert values["c"][0] == pytest.approx(1.0)
    assert values["d"][0] == 0.0 and values["e"][0] == 1.0 and values["f"][0] == 1.0
    assert values["g"][1] == "‖g‖ 3.2e-3"


def test_unknown_overlay_metric_is_refused():
    with pytest.raises(ValueError, match="unknown overlay metric"):
        overlay_values(RunHistory(), "loss")


def test_number_formats():
    assert sci(3.2e-3) == "3.2e-3"
    assert sci(12000.0) == "1.2e+4"
    assert sci(1.0) == "1.0e0"
    assert sci(0.0) == "0"
    assert sci(math.nan) == "nan"
    assert percent(0.834) == "83 %"
    assert percent(0.001) == "<1 %"
    assert percent(0.0) == "0 %"


# -- a real run ----------------------------------------------------------------------------
def test_real_run_gives_flags_and_overlays_for_probed_nodes(tmp_path: Path):
    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=5, probe_unit="steps")
    history = RunHistory()
    Trainer(graph, load_dataset_for(graph, settings), settings, history.apply, tmp_path / "run").run()
    activations = history.probes["activations"].data
    gradients = history.probes["gradients"].data
    dead = overlay_values(history, "dead")
    assert set(dead) == {n for n, e in activations.items() if "dead_fraction" in e} == {
        "relu1", "relu2", "relu3", "relu4"}
    for node_id, (fraction, text) in dead.items():
        assert fraction == pytest.approx(activations[node_id]["dead_fraction"])
        assert text.endswith("dead")
    grad = overlay_values(history, "gradient")
    assert set(grad) == set(gradients["norms"]) == {"conv1", "conv2", "conv3", "fc1", "fc2"}
    assert all(0.0 < fraction < 1.0 for fraction, _ in grad.values())  # a healthy run
    flags = node_health(history)
    for node_id, flag in flags.items():
        assert node_id in activations or node_id in gradients["norms"]
        assert flag.message.startswith(f"{node_id}: ")
