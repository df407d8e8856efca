"""Every task trains end to end on real data, and the probes report what the GUI will plot."""

import numpy as np
import pytest

from graph_engine import Graph, load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory


def run(graph, tmp_path, **overrides):
    overrides.setdefault("epochs", 1)
    settings = settings_from_dict(graph.training, **overrides)
    events = []
    result = Trainer(graph, load_dataset_for(graph, settings), settings, events.append,
                     tmp_path / "run").run()
    return result, events


def probes_of(events, kind):
    return [e["data"] for e in events if e["type"] == "probe" and e["kind"] == kind]


def test_classification_run_reports_every_interval_and_epoch_probe(tmp_path):
    graph = load_template("digits_cnn")
    result, events = run(graph, tmp_path, epochs=2, probe_every=10, probe_unit="steps")
    assert result.status == "completed" and result.metrics["accuracy"] > 0.5
    gradients = probes_of(events, "gradients")
    assert len(gradients) == 5  # steps 0, 10, 20, 30, 40
    assert set(gradients[0]["norms"]) == {"conv1", "conv2", "conv3", "fc1", "fc2"}
    assert all(v > 0 for v in gradients[-1]["update_ratios"].values())
    activations = {}  # each probe measures a group of nodes in turn: every node's latest
    for probe in probes_of(events, "activations"):
        activations.update(probe)
    relu = activations["relu1"]
    assert 0 <= relu["dead_fraction"] <= relu["zero_fraction"] <= 1
    assert sum(relu["counts"]) + relu["below"] + relu["above"] > 0
    maps = probes_of(events, "feature_maps")[-1]
    assert set(maps) == {"conv1", "conv2", "conv3"} and maps["conv1"].dtype == np.uint8
    assert maps["conv1"].shape == (32, 8, 8)
    assert probes_of(events, "filters")[-1]["filters"].shape == (32, 1, 3, 3)
    confusion = probes_of(events, "confusion")
    assert len(confusion) == 2
    matrix = confusion[-1]["matrix"]
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    last_epoch = [e for e in events if e["type"] == "epoch"][-1]
    assert np.trace(matrix) / 360 == pytest.approx(last_epoch["val"]["accuracy"])
    assert confusion[-1]["class_names"] == [str(i) for i in range(10)]


@pytest.mark.slow
def test_character_model_learns_and_samples_text(tmp_path):
    graph = load_template("char_lstm")
    graph.set_params("lstm", {"hidden_size": 32, "num_layers": 1, "dropout": 0.0})
    result, events = run(graph, tmp_path, epochs=1, batch_size=128)
    assert result.status == "completed"
    assert 0 < result.metrics["bits_per_char"] < 6.7  # below a uniform guess over 103 characters
    (sample,) = probes_of(events, "samples")
    assert len(sample["text"]) == 240 and sample["prompt"]
    replayed = RunHistory.from_run_dir(result.run_dir)  # the run folder keeps the epoch's sample
    assert replayed.damage == [] and [text for _, _, text in replayed.samples] == [sample["text"]]


@pytest.mark.slow
def test_segmentation_run_reports_iou_and_a_mask(tmp_path):
    graph = load_template("unet_like")
    for node_id, channels in (("enc1", 4), ("enc2", 4), ("bottleneck", 4), ("up2", 4), ("dec2", 4),
                              ("dec1", 4)):
        graph.set_params(node_id, {"out_channels": channels})
    result, events = run(graph, tmp_path, epochs=1)
    assert result.status == "completed"
    assert 0 <= result.metrics["mean_iou"] <= 1 and 0 < result.metrics["pixel_accuracy"] <= 1
    (mask,) = probes_of(events, "segmentation")
    assert mask["predicted"].shape == mask["true"].shape == (32, 32)


def test_regression_run_from_an_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]
    np.savez(tmp_path / "data.npz", x=x, y=y)
    graph = Graph("regressor")
    graph.create_node("Input", {"shape": [3]}, node_id="x")
    graph.create_node("Linear", {"out_features": 1}, node_id="fit")
    graph.create_node("Output", node_id="y")
    graph.connect("x", "fit")
    graph.connect("fit", "y")
    result, _ = run(graph, tmp_path, epochs=30, dataset=str(tmp_path / "data.npz"), learning_rate=0.05)
    assert result.status == "completed"
    assert result.metrics["mse"] < 0.05


def test_segmentation_validation_metrics_match_the_confusion_matrix():
    """The accumulator's pixel accuracy and mean IoU, batch by batch on the device, equal
    the ones read from the whole set's confusion matrix; predictions are argmax's."""
    import torch

    from graph_engine.probes import segmentation_metrics
    from graph_engine.training.tasks import SEGMENTATION, MetricAccumulator, predicted_classes

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 5, 6, 7, generator=generator)
    logits[0, :, 0, 0] = 1.0  # a tie: the first class wins, as with argmax
    targets = torch.randint(0, 4, (10, 6, 7), generator=generator)  # class 4 is never true
    accumulator = MetricAccumulator(SEGMENTATION, 5)
    for start in (0, 4):
        chunk = slice(start, start + 4 if start == 0 else None)
        predicted = predicted_classes(SEGMENTATION, logits[chunk])
        assert torch.equal(predicted, logits[chunk].argmax(dim=1))
        accumulator.add(logits[chunk], targets[chunk], torch.tensor(0.5), predicted)
    metrics = accumulator.result()
    expected = segmentation_metrics(logits, targets, 5)
    assert metrics["pixel_accuracy"] == pytest.approx(expected["pixel_accuracy"])
    assert metrics["mean_iou"] == pytest.approx(expected["mean_iou"]) and 0 < metrics["mean_iou"] < 1
