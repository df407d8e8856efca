"""TensorBoard event files: what a run writes, read back as TensorBoard reads them."""

import importlib.util

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from app.cli import main
from graph_engine import load_template, save_graph
from graph_engine.training import Trainer, load_dataset_for, read_metrics, settings_from_dict
from graph_engine.training import tensorboard_log
from graph_engine.training.tensorboard_log import TensorBoardLog


def read_events(folder):
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def graph():
    graph = load_template("digits_cnn")
    for node_id in ("conv1", "conv2", "conv3"):
        graph.set_params(node_id, {"out_channels": 8})
    graph.set_params("fc1", {"out_features": 32})
    return graph


def test_a_run_with_tensorboard_on_in_its_settings_writes_scalars_and_histograms(tmp_path, graph):
    training = {**graph.training, "tensorboard": True}  # as a graph file's training section says
    settings = settings_from_dict(training, epochs=2, probe_every=10, probe_unit="steps")
    result = Trainer(graph, load_dataset_for(graph, settings), settings, None, tmp_path / "run").run()
    assert result.status == "completed"
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    events = read_events(tmp_path / "run" / "tensorboard")

    losses = events.Scalars("train/loss")
    steps = [r for r in records if r["type"] == "step"]
    assert [e.step for e in losses] == [r["step"] for r in steps] == list(range(1, 47))
    assert [e.value for e in losses] == pytest.approx([r["loss"] for r in steps], rel=1e-6)
    assert [e.step for e in events.Scalars("train/lr")] == list(range(1, 47))
    epochs = [r for r in records if r["type"] == "epoch"]
    accuracy = events.Scalars("validation/accuracy")
    assert [(e.step, e.value) for e in accuracy] == [
        (r["step"], pytest.approx(r["val"]["accuracy"])) for r in epochs]
    assert [e.step for e in events.Scalars("validation/loss")] == [23, 46]

    histograms = events.Tags()["histograms"]
    assert "activations/conv1" in histograms and "activations/fc2" in histograms
    conv1 = events.Histograms("activations/conv1")
    # each probe measures a rotating sample of the nodes: conv1 at the first and then in turn
    assert [h.step for h in conv1][0] == 1 and {h.step for h in conv1} < {1, 11, 21, 31, 41}
    first = conv1[0].histogram_value
    assert first.num == 32 * 8 * 8 * 8  # the probe batch's conv1 outputs, every one counted
    assert sum(first.bucket) == first.num
    assert [e.step for e in events.Scalars("gradient_norm/conv1")] == [1, 11, 21, 31, 41]
    assert all(0 <= e.value <= 1 for e in events.Scalars("dead_fraction/relu1"))


def test_a_histogram_keeps_the_values_outside_its_bins(tmp_path):
    log = TensorBoardLog(tmp_path)
    entry = {"counts": [1, 2, 3, 4], "range": (0.0, 4.0), "below": 5, "above": 6, "min": -2.0,
             "max": 9.0, "mean": 1.5, "std": 2.0}
    log({"type": "probe", "kind": "activations", "step": 3, "data": {"x": entry}})
    log({"type": "probe", "kind": "activations", "step": 4,
         "data": {"x": {**entry, "mean": float("nan")}}})  # nothing finite to say: skipped
    log.close()
    (histogram,) = read_events(tmp_path).Histograms("activations/x")
    value = histogram.histogram_value
    assert histogram.step == 3 and value.num == 21 and value.sum == pytest.approx(1.5 * 21)
    assert list(value.bucket) == [5, 1, 2, 3, 4, 6]
    assert list(value.bucket_limit) == [0.0, 1.0, 2.0, 3.0, 4.0, 9.0]
    assert (value.min, value.max) == (-2.0, 9.0)
    assert value.sum_squares == pytest.approx((2.0 ** 2 + 1.5 ** 2) * 21)


def test_text_samples_and_a_resume_that_hides_what_came_after_the_checkpoint(tmp_path):
    log = TensorBoardLog(tmp_path)
    for step in range(1, 11):
        log({"type": "step", "step": step, "epoch": 1, "loss": 1.0, "lr": 0.1, "time": 0.0})
    log({"type": "probe", "kind": "samples", "step": 10,
         "data": {"prompt": "def ", "text": "main():", "temperature": 0.8}})
    log.close()
    resumed = TensorBoardLog(tmp_path, purge_step=6)  # the checkpoint was at step 5
    for step in range(6, 9):
        resumed({"type": "step", "step": step, "epoch": 1, "loss": 2.0, "lr": 0.1, "time": 0.0})
    resumed.close()
    events = read_events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [
        *[(s, 1.0) for s in range(1, 6)], *[(s, 2.0) for s in range(6, 9)]]
    (sample,) = events.Tensors("samples/text_summary")
    # a code block: nothing the model writes is read as Markdown or HTML
    assert np.asarray(sample.tensor_proto.string_val)[0].decode() == "    def main():"


def test_without_tensorboard_the_cli_names_the_extra(tmp_path, capsys, monkeypatch, graph):
    path = tmp_path / "cnn.json"
    save_graph(graph, path)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(tensorboard_log.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "tensorboard" else find_spec(name, *rest))
    assert main(["train", str(path), "--epochs", "1", "--tensorboard", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == ('rosenblatt train: TensorBoard logs need the tensorboard package: '
                   'pip install "rosenblatt[tensorboard]"\n')
    assert not (tmp_path / "run").exists()
