"""The Trainer: events, run folder, determinism, resume, pause/stop, NaN stop, fit errors."""

import json
import math
import threading

import pytest
import torch

from graph_engine import Graph, load_template
from graph_engine.data.base import Dataset
from graph_engine.training import (
    FitError, Trainer, TrainingControl, load_dataset_for, read_metrics, settings_from_dict,
)
from graph_engine.training.schedule import lr_factor


@pytest.fixture(scope="module")
def digits_graph():
    """A small CNN on the digits (cheap enough for many short runs)."""
    graph = load_template("digits_cnn")
    graph.set_params("conv1", {"out_channels": 8})
    graph.set_params("conv2", {"out_channels": 8})
    graph.set_params("conv3", {"out_channels": 8})
    graph.set_params("fc1", {"out_features": 32})
    return graph


@pytest.fixture(scope="module")
def digits(digits_graph):
    return load_dataset_for(digits_graph, settings_from_dict(digits_graph.training))


def quick(graph, **overrides):
    overrides.setdefault("epochs", 2)
    overrides.setdefault("probe_every", 0)
    return settings_from_dict(graph.training, **overrides)


def test_settings_defaults_overrides_and_errors():
    settings = settings_from_dict({"optimizer": "sgd", "unknown_key": 1}, epochs=3, batch_size=None)
    assert settings.optimizer == "sgd" and settings.epochs == 3 and settings.batch_size == 64
    with pytest.raises(ValueError, match=r"training.batch_size must be ≥ 1, got 0"):
        settings_from_dict({"batch_size": 0})
    with pytest.raises(ValueError, match=r"training.optimizer must be one of"):
        settings_from_dict({"optimizer": "lbfgs"})
    assert settings_from_dict({"optimizer": "lbfgs", "epochs": 3}, strict=False).optimizer == "adam"


def test_learning_rate_schedules():
    s = settings_from_dict({"schedule": "step", "step_epochs": 2, "gamma": 0.5, "epochs": 6})
    assert [lr_factor(s, e * 10, 10) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    s = settings_from_dict({"schedule": "cosine", "epochs": 1, "warmup_steps": 10})
    assert lr_factor(s, 0, 110) == pytest.approx(0.1)
    assert lr_factor(s, 9, 110) == 1.0
    assert lr_factor(s, 10, 110) == 1.0
    assert lr_factor(s, 60, 110) == pytest.approx(0.5)
    assert lr_factor(s, 109, 110) == pytest.approx(0.5 * (1 + math.cos(math.pi * 99 / 100)))


def test_a_run_reports_events_and_writes_its_folder(tmp_path, digits_graph, digits):
    events = []
    result = Trainer(digits_graph, digits, quick(digits_graph), events.append, tmp_path / "run").run()
    assert result.status == "completed" and result.epoch == 2 and result.step == 2 * 23
    kinds = [e["type"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("step") == 46 and kinds.count("epoch") == 2
    folder = tmp_path / "run"
    assert {p.name for p in folder.iterdir()} == {"graph.json", "settings.json", "dataset.json",
                                                   "metrics.jsonl", "checkpoints"}
    assert {p.name for p in (folder / "checkpoints").iterdir()} == {
        "last.safetensors", "last.json", "best.safetensors", "best.json"}
    records = read_metrics(folder / "metrics.jsonl")
    assert [r["step"] for r in records if r["type"] == "step"] == list(range(1, 47))
    assert records[-1]["type"] == "finished"
    epochs = [r for r in records if r["type"] == "epoch"]
    assert epochs[-1]["val"]["accuracy"] == result.metrics["accuracy"]
    assert json.loads((folder / "settings.json").read_text())["epochs"] == 2
    for checkpoint in (folder / "checkpoints").glob("*.safetensors"):
        assert not checkpoint.read_bytes().startswith(b"\x80")  # not a pickle


def test_same_seed_same_metrics(tmp_path, digits_graph, digits):
    runs = [Trainer(digits_graph, digits, quick(digits_graph), None, tmp_path / f"r{i}").run()
            for i in range(2)]
    first, second = (read_metrics(r.run_dir / "metrics.jsonl") for r in runs)
    # pace records measure time (CPU share, steps/s, the probes' share): only they may differ
    strip = lambda records: [{k: v for k, v in r.items() if k != "time"} for r in records if r["type"] != "pace"]
    assert strip(first) == strip(second)


def test_resume_continues_steps_optimizer_and_curves(tmp_path, digits_graph, digits):
    # exact equality is a CPU property: cuDNN's convolution gradients are not deterministic, so on
    # a GPU a resumed run matches an uninterrupted one only to rounding
    whole = Trainer(digits_graph, digits, quick(digits_graph, epochs=3, device="cpu"), None,
                    tmp_path / "whole").run()
    control = TrainingControl()

    def stop_after_30(event):
        if event["type"] == "step" and event["step"] >= 30:
            control.stop()

    part = Trainer(digits_graph, digits, quick(digits_graph, epochs=3, device="cpu"), stop_after_30,
                   tmp_path / "part", control).run()
    assert part.status == "stopped" and 30 <= part.step < 46  # mid-epoch 2
    resumed = Trainer.resume(tmp_path / "part", lambda g, s: digits).run()
    assert resumed.status == "completed" and resumed.step == whole.step
    strip = lambda path: [{k: v for k, v in r.items() if k != "time"}
                          for r in read_metrics(path) if r["type"] in ("step", "epoch")]
    assert strip(tmp_path / "part" / "metrics.jsonl") == strip(tmp_path / "whole" / "metrics.jsonl")


def test_pause_resume_and_stop_from_another_thread_within_a_step(tmp_path, digits_graph, digits):
    control = TrainingControl()
    seen = []
    paused = threading.Event()

    def sink(event):
        seen.append(event)
        if event["type"] == "step" and event["step"] == 5:
            control.pause()
        if event["type"] == "paused":
            paused.set()

    trainer = Trainer(digits_graph, digits, quick(digits_graph, epochs=50), sink, tmp_path / "run", control)
    results = []
    worker = threading.Thread(target=lambda: results.append(trainer.run()))
    worker.start()
    assert paused.wait(30)
    steps_when_paused = trainer.step
    threading.Event().wait(0.3)
    assert trainer.step == steps_when_paused  # nothing runs while paused
    resumed = threading.Event()
    trainer.sink = lambda event: (sink(event), event["type"] == "resumed" and resumed.set())
    control.resume()
    assert resumed.wait(30)
    control.stop()
    steps_when_stopped = trainer.step  # read after the request: on a busy machine, steps ran since the resume
    worker.join(30)
    (result,) = results
    assert result.status == "stopped"
    assert result.step <= steps_when_stopped + 1  # the step in flight may finish; no more
    assert [e["type"] for e in seen if e["type"] in ("paused", "resumed")] == ["paused", "resumed"]
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").exists()


def _regression_set(x_value):
    x = torch.full((64, 1), float(x_value))
    y = torch.zeros(64, 1)
    return Dataset("huge", "regression", x, y, x[:8].clone(), y[:8].clone())


def test_non_finite_values_stop_the_run_naming_the_node_and_keep_the_good_checkpoint(tmp_path):
    graph = Graph("blow-up")
    graph.create_node("Input", {"shape": [1]}, node_id="x")
    graph.create_node("Linear", {"out_features": 1}, node_id="fc")
    graph.create_node("Output", node_id="y")
    graph.connect("x", "fc")
    graph.connect("fc", "y")
    settings = settings_from_dict({"optimizer": "sgd", "learning_rate": 1e-3, "epochs": 5,
                                   "batch_size": 64, "probe_every": 0, "keep_best": False})
    events = []

    def sink(event):
        events.append(event)
        if event["type"] == "epoch" and event["epoch"] == 1:  # weights explode during epoch 2
            trainer.model.fc.weight.data.fill_(1e38)

    trainer = Trainer(graph, _regression_set(10.0), settings, sink, tmp_path / "run")
    good = (tmp_path / "run" / "checkpoints" / "last.safetensors")
    result = trainer.run()
    assert result.status == "failed"
    assert result.node == "fc"
    assert "output of 'fc' (Linear)" in result.message
    failed = [e for e in events if e["type"] == "failed"]
    assert failed and failed[0]["node"] == "fc"
    checkpoint = json.loads(good.with_suffix(".json").read_text())
    assert checkpoint["epoch"] == 1  # the last good state, not the broken one


def test_data_that_does_not_fit_is_refused_before_training(digits_graph, digits):
    graph = digits_graph.copy()
    graph.set_params("fc2", {"out_features": 5})
    with pytest.raises(FitError, match="digits has 10 classes but the Output has 5 units; set the last "
                                       "layer's out_features to 10"):
        Trainer(graph, digits, quick(graph))
    graph.set_params("fc2", {"out_features": 10})
    graph.create_node("Softmax", node_id="probabilities")
    graph.remove_node("scores")
    graph.create_node("Output", node_id="scores")
    graph.connect("fc2", "probabilities")
    graph.connect("probabilities", "scores")
    with pytest.raises(FitError, match="remove the Softmax"):
        Trainer(graph, digits, quick(graph))


def test_the_run_trains_a_snapshot(tmp_path, digits_graph, digits):
    graph = digits_graph.copy()
    trainer = Trainer(graph, digits, quick(graph, epochs=1), None, tmp_path / "run")
    graph.set_params("conv1", {"out_channels": 3})  # an edit in the editor during the run
    assert trainer.run().status == "completed"
    assert trainer.model.conv1.out_channels == 8


def test_nan_weights_are_never_saved_as_the_good_checkpoint(tmp_path, digits_graph, digits):
    settings = quick(digits_graph, epochs=3, checkpoint_every=0)
    events = []

    def sink(event):
        events.append(event)
        if event["type"] == "checkpoint" and event["which"] == "last" and event["epoch"] == 1:
            with torch.no_grad():
                trainer.model.fc2.weight[0, 0] = float("nan")  # a gradient that overflowed

    trainer = Trainer(digits_graph, digits, settings, sink, tmp_path / "run")
    result = trainer.run()
    assert result.status == "failed" and result.node == "fc2"
    assert "the weights of 'fc2' (Linear) are no longer finite" in result.message
    from graph_engine.training.runs import load_checkpoint, read_metrics
    state, _, _, meta = load_checkpoint(tmp_path / "run" / "checkpoints" / "last")
    assert meta["epoch"] == 1 and all(torch.isfinite(v).all() for v in state.values())
    assert read_metrics(tmp_path / "run" / "metrics.jsonl")[-1]["type"] == "failed"


def test_a_run_ending_at_an_epoch_end_writes_its_last_checkpoint_once(tmp_path, digits_graph, digits):
    """The finish does not write "last" again when the epoch's end just wrote this step; a run
    stopped within an epoch still saves where it stopped."""
    from graph_engine.training.runs import load_checkpoint

    events = []
    result = Trainer(digits_graph, digits, quick(digits_graph, epochs=2, checkpoint_every=0), events.append,
                     tmp_path / "run").run()
    lasts = [e for e in events if e["type"] == "checkpoint" and e["which"] == "last"]
    assert [(e["epoch"], e["step"]) for e in lasts] == [(1, result.step // 2), (2, result.step)]
    state, _, _, meta = load_checkpoint(tmp_path / "run" / "checkpoints" / "last")
    assert (meta["step"], meta["epoch"], meta["batch_index"]) == (result.step, 2, 0)
    control = TrainingControl()
    events.clear()

    def stop_mid_epoch(event):
        events.append(event)
        if event["type"] == "step" and event["step"] == 5:
            control.stop()

    stopped = Trainer(digits_graph, digits, quick(digits_graph, epochs=2, log_every=1), stop_mid_epoch,
                      tmp_path / "stopped", control=control).run()
    assert stopped.status == "stopped"
    lasts = [e for e in events if e["type"] == "checkpoint" and e["which"] == "last"]
    assert [e["step"] for e in lasts] == [stopped.step]


def test_a_last_batch_of_one_sample_joins_the_previous_one(tmp_path):
    graph = load_template("mlp")
    graph.create_node("BatchNorm1d", node_id="norm")
    graph.remove_edge(next(e for e in graph.edges if e.target == "relu1"))
    graph.connect("hidden1", "norm")
    graph.connect("norm", "relu1")
    settings = settings_from_dict({"batch_size": 718, "epochs": 1, "probe_every": 0})
    data = load_dataset_for(graph, settings)
    assert len(data.x_train) % 718 == 1
    result = Trainer(graph, data, settings, None, tmp_path / "run").run()
    assert result.status == "completed" and result.step == 2


def test_any_failure_is_a_failed_event_not_a_traceback(tmp_path, digits_graph, digits):
    events = []

    def sink(event):
        events.append(event)
        if event["type"] == "step" and event["step"] == 10:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    result = Trainer(digits_graph, digits, quick(digits_graph), sink, tmp_path / "run").run()
    assert result.status == "failed"
    assert result.message == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (lower batch_size)"


def _raise_key_error(*args, **kwargs):
    raise KeyError("x")


@pytest.mark.parametrize("where", ["graph_engine.probes.activation_stats",
                                   "graph_engine.training.trainer.Trainer.evaluate"])
def test_a_programming_error_leaves_its_traceback_in_the_run_folder(tmp_path, digits_graph, digits,
                                                                     monkeypatch, where):
    monkeypatch.setattr(where, _raise_key_error)
    events = []
    settings = quick(digits_graph, epochs=1, probe_every=5, probe_unit="steps")
    result = Trainer(digits_graph, digits, settings, events.append, tmp_path / "run").run()
    error_file = tmp_path / "run" / "error.txt"
    assert result.status == "failed"
    assert result.message == f"KeyError: 'x' (traceback in {error_file})"
    assert events[-1]["type"] == "failed" and events[-1]["message"] == result.message
    text = error_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "_raise_key_error" in text
    assert text.rstrip().endswith("KeyError: 'x'")


def test_a_used_run_folder_is_refused_and_resume_keeps_one_closing_record(tmp_path, digits_graph, digits):
    control = TrainingControl()
    stop = lambda event: event["type"] == "step" and event["step"] >= 20 and control.stop()
    Trainer(digits_graph, digits, quick(digits_graph), stop, tmp_path / "run", control).run()
    with pytest.raises(FitError, match=r"already holds a run: resume it \(train --resume "):
        Trainer(digits_graph, digits, quick(digits_graph), None, tmp_path / "run").run()
    Trainer.resume(tmp_path / "run", lambda g, s: digits).run()
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["type"] for r in records].count("finished") == 1
    times = [r["time"] for r in records if r["type"] == "step"]
    assert times == sorted(times)  # the clock carries on across the resume


def test_task_override_that_does_not_fit_the_targets(digits_graph, digits):
    with pytest.raises(FitError, match="the task segmentation needs a class per pixel, but digits's "
                                       "targets are int64 of shape scalar; choose the task classification"):
        Trainer(digits_graph, digits, quick(digits_graph, task="segmentation"))


def test_unavailable_device_is_one_line(digits_graph, digits, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available on this machine"):
        Trainer(digits_graph, digits, quick(digits_graph, device="cuda"))


def test_a_pause_does_not_count_in_the_runs_clock(tmp_path, digits_graph, digits):
    import statistics
    import threading

    control = TrainingControl()
    events = []
    pause_s = []

    def sink(event):
        events.append(event)
        if event["type"] == "step" and event["step"] == 15 and not control.paused:
            # pause for far longer than a step takes here and now: 1 s, or 50 typical steps
            so_far = [e["time"] for e in events if e["type"] == "step"]
            typical = statistics.median(b - a for a, b in zip(so_far, so_far[1:]))
            pause_s.append(max(1.0, 50 * typical))
            control.pause()
            threading.Timer(pause_s[0], control.resume).start()

    Trainer(digits_graph, digits, quick(digits_graph, epochs=1, device="cpu"), sink, tmp_path / "run",
            control).run()
    kinds = [e["type"] for e in events]
    paused = kinds.index("paused")
    before = [e for e in events[:paused] if e["type"] == "step"][-1]
    after = next(e for e in events[paused:] if e["type"] == "step")
    assert kinds.count("step") > 20 and after["step"] == before["step"] + 1 and "resumed" in kinds
    # the pause is not in "time": counted, the step across it would take ≥ 50 typical steps
    assert after["time"] - before["time"] < pause_s[0] / 2
