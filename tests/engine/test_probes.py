"""Probes: each number against a direct computation (numpy, sklearn, brute force)."""

import gc
import math
import os
import stat
import weakref

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from graph_engine import analyze, compile_graph, load_template
from graph_engine.probes import (
    GradientMonitor, activation_stats, beam_search, confusion_matrix, feature_maps,
    first_layer_filters, nice_range, patch_grid_image, per_class_accuracy, sample_text, save_png,
    segmentation_metrics, top_patches,
)
from graph_engine.probes.patches import (
    GAP_PIXELS, LABEL_PIXELS, STORED_PIXELS, crop_box, crop_boxes, full_crop, scaled_patches,
)
from tests.engine.helpers import chain

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def _flags(model):
    return [m.training for m in model.modules()]


def _np(t):
    return t.detach().cpu().double().numpy()


# --------------------------------------------------------------------------- activations
def _health_graph():
    return chain(
        ("image", "Input", {"shape": [2, 6, 6]}),
        ("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("relu", "ReLU", {}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 6}),
        ("squash", "Tanh", {}),
        ("head", "Linear", {"out_features": 5}),
        ("prob", "Sigmoid", {}),
        ("out", "Output", {}),
    )


def _health_model(device):
    torch.manual_seed(0)
    graph = _health_graph()
    model = compile_graph(graph, device=device)
    with torch.no_grad():
        model.conv.bias[1] = -100.0  # channel 1 never fires: a dead unit
        model.fc.weight.mul_(8.0)  # push tanh into saturation
        model.head.weight.mul_(6.0)
    return graph, model


def _reference(model, x):
    """Every node's output computed by hand with torch.nn.functional (float64)."""
    x = x.double()
    p = {k: v.detach().double() for k, v in model.state_dict().items()}
    conv = F.conv2d(x, p["conv.weight"], p["conv.bias"], padding=1)
    relu = conv.clamp_min(0)
    fc = relu.flatten(1) @ p["fc.weight"].T + p["fc.bias"]
    squash = torch.tanh(fc)
    head = squash @ p["head.weight"].T + p["head.bias"]
    return {"conv": conv, "relu": relu, "flat": relu.flatten(1), "fc": fc, "squash": squash,
            "head": head, "prob": torch.sigmoid(head)}


def test_activation_stats_match_numpy(device):
    graph, model = _health_model(device)
    x = torch.randn(16, 2, 6, 6, device=device)
    model.train()
    before = _flags(model)
    stats = activation_stats(model, graph, x, bins=32)
    assert _flags(model) == before  # training flags restored
    assert list(stats) == ["conv", "relu", "flat", "fc", "squash", "head", "prob"]
    expected = {k: _np(v) for k, v in _reference(model, x).items()}
    for node_id, value in expected.items():
        got = stats[node_id]
        assert got["mean"] == pytest.approx(value.mean(), rel=1e-4, abs=1e-5)
        assert got["std"] == pytest.approx(value.std(), rel=1e-4, abs=1e-5)
        assert got["min"] == pytest.approx(value.min(), rel=1e-5, abs=1e-5)
        assert got["max"] == pytest.approx(value.max(), rel=1e-5, abs=1e-5)
        low, high = got["range"]
        assert low <= value.min() and value.max() <= high
        counts, _ = np.histogram(value, bins=32, range=(low, high))
        assert got["counts"] == counts.tolist() and sum(got["counts"]) == value.size
        assert got["below"] == got["above"] == 0 and got["nonfinite_fraction"] == 0.0
    relu = expected["relu"]
    assert stats["relu"]["zero_fraction"] == pytest.approx((relu == 0).mean())
    assert stats["relu"]["dead_units"] == 1  # channel 1: zero for every sample and position
    assert stats["relu"]["dead_fraction"] == pytest.approx(1 / 4)
    assert (relu[:, 1] == 0).all() and (relu[:, [0, 2, 3]] != 0).any(axis=(0, 2, 3)).all()
    assert stats["relu"]["range"][0] == 0.0
    for node_id, (a, b) in (("squash", (-1.0, 1.0)), ("prob", (0.0, 1.0))):
        value = expected[node_id]
        tol = 0.01 * (b - a)
        share = ((np.abs(value - a) < tol) | (np.abs(value - b) < tol)).mean()
        assert 0.05 < share < 1.0  # the test really exercises saturation
        assert stats[node_id]["saturated_fraction"] == pytest.approx(share)
        assert stats[node_id]["range"] == (a, b)
        assert "zero_fraction" not in stats[node_id]
    assert "saturated_fraction" not in stats["relu"] and "dead_fraction" not in stats["conv"]


def test_fixed_ranges_are_kept_and_outliers_counted(device):
    graph, model = _health_model(device)
    x = torch.randn(8, 2, 6, 6, device=device)
    first = activation_stats(model, graph, x, node_ids=["conv", "relu"], bins=8)
    conv = _np(_reference(model, x)["conv"])
    stats = activation_stats(model, graph, x, node_ids=["conv"], bins=8, ranges={"conv": (-0.5, 0.5)})
    assert stats["conv"]["range"] == (-0.5, 0.5)
    assert stats["conv"]["counts"] == np.histogram(conv, bins=8, range=(-0.5, 0.5))[0].tolist()
    assert stats["conv"]["below"] == (conv < -0.5).sum() and stats["conv"]["above"] == (conv > 0.5).sum()
    again = activation_stats(model, graph, x * 0.5, node_ids=["relu"], bins=8,
                             ranges={k: v["range"] for k, v in first.items()})
    assert again["relu"]["range"] == first["relu"]["range"]


def test_nonfinite_values_are_counted_not_averaged(device):
    graph = chain(("x", "Input", {"shape": [4]}), ("r", "ReLU", {}), ("fc", "Linear", {}),
                  ("out", "Output", {}))
    model = compile_graph(graph, device=device)
    x = torch.tensor([[1.0, 2.0, float("nan"), float("inf")], [0.0, 3.0, 4.0, 0.0]])
    stats = activation_stats(model, graph, x, node_ids=["r"], bins=4)["r"]
    finite = np.array([1.0, 2.0, 0.0, 3.0, 4.0, 0.0])
    assert stats["nonfinite_fraction"] == pytest.approx(2 / 8)
    assert stats["mean"] == pytest.approx(finite.mean()) and stats["std"] == pytest.approx(finite.std())
    assert (stats["min"], stats["max"]) == (0.0, 4.0)
    assert sum(stats["counts"]) == 6  # NaN and inf fall in no bin


def test_dead_units_are_channels_of_maps_and_features_of_sequences():
    conv = chain(("x", "Input", {"shape": [2, 10]}),
                 ("c", "Conv1d", {"out_channels": 3, "kernel_size": 3}), ("r", "ReLU", {}),
                 ("out", "Output", {}))
    seq = chain(("x", "Input", {"shape": [5, 4]}), ("fc", "Linear", {"out_features": 3}),
                ("r", "ReLU", {}), ("out", "Output", {}))
    for graph, killed in ((conv, "c"), (seq, "fc")):
        model = compile_graph(graph, device="cpu")
        with torch.no_grad():
            getattr(model, killed).bias[2] = -100.0
        stats = activation_stats(model, graph, torch.randn(6, *analyze(graph).info("x").out_shape))
        assert stats["r"]["dead_units"] == 1, graph


def test_cached_taps_do_not_keep_a_model_alive():
    graph = _health_graph()
    model = compile_graph(graph, device="cpu")
    activation_stats(model, graph, torch.randn(2, 2, 6, 6))
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_default_nodes_skip_boundaries_and_int_inputs():
    graph = load_template("char_lstm")
    model = compile_graph(graph, device="cpu")
    stats = activation_stats(model, graph, torch.randint(0, 128, (2, 16)))
    assert list(stats) == ["embed", "lstm", "next_char"]


@pytest.mark.parametrize("low, high, expected", [
    (0.0, 3.3, (0.0, 3.5)), (-3.16, 3.33, (-4.0, 4.0)), (0.0, 0.0, (0.0, 1.0)),
    (2.0, 2.0, (0.0, 4.0)), (-0.37, -0.12, (-0.4, -0.1)), (0.0, 0.467, (0.0, 0.5)),
    (float("nan"), 1.0, (0.0, 1.0)),
])
def test_nice_range_rounds_outward(low, high, expected):
    assert nice_range(low, high) == pytest.approx(expected)
    got = nice_range(low, high)
    if math.isfinite(low):
        assert got[0] <= low and got[1] >= high and got[1] > got[0]


# --------------------------------------------------------------------------- gradients
def test_grad_norms_and_update_ratios_match_a_manual_sgd_step(device):
    torch.manual_seed(1)
    graph = load_template("digits_cnn")
    model = compile_graph(graph, device=device)
    monitor = GradientMonitor(model)
    assert monitor.grad_norms() == {}  # no backward yet
    x, y = torch.randn(8, 1, 8, 8, device=device), torch.randint(0, 10, (8,), device=device)
    F.cross_entropy(model(x), y).backward()
    norms = monitor.grad_norms()
    assert list(norms) == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    for node_id, value in norms.items():
        module = getattr(model, node_id)
        direct = math.sqrt(sum(p.grad.norm().item() ** 2 for p in module.parameters()))
        assert value == pytest.approx(direct, rel=1e-5)
    lr = 0.05
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    weights = {n: [p.detach().clone() for p in getattr(model, n).parameters()] for n in norms}
    monitor.before_step()
    optimizer.step()
    ratios = monitor.update_ratios()
    for node_id, ratio in ratios.items():
        size = math.sqrt(sum(w.norm().item() ** 2 for w in weights[node_id]))
        assert ratio == pytest.approx(lr * norms[node_id] / size, rel=1e-4)
    with pytest.raises(RuntimeError, match="before_step"):
        monitor.update_ratios()  # each ratio needs its own snapshot


def test_nodes_without_gradients_are_left_out_and_zero_weights_give_inf():
    graph = chain(("x", "Input", {"shape": [3]}), ("a", "Linear", {"out_features": 2}),
                  ("b", "Linear", {"out_features": 2}), ("out", "Output", {}))
    model = compile_graph(graph, device="cpu")
    model(torch.randn(4, 3)).sum().backward()
    model.a.weight.grad = model.a.bias.grad = None
    monitor = GradientMonitor(model)
    assert list(monitor.grad_norms()) == ["b"]
    with torch.no_grad():
        model.b.weight.zero_()
        model.b.bias.zero_()
    monitor.before_step()
    with torch.no_grad():
        model.b.weight.add_(1.0)
    assert monitor.update_ratios() == {"a": 0.0, "b": math.inf}


# --------------------------------------------------------------------------- feature maps
def _display(value, axis):
    """Min-max to 0..255 along ``axis`` with numpy (the reference for uint8 maps)."""
    low, high = value.min(axis=axis, keepdims=True), value.max(axis=axis, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.round(np.where(high > low, (value - low) / span, 0.0) * 255).astype(np.uint8)


def test_feature_maps_are_scaled_per_channel(device):
    graph, model = _health_model(device)
    x = torch.randn(2, 6, 6, device=device)
    model.train()
    maps = feature_maps(model, x, ["conv", "relu", "fc"], max_channels=3)
    assert not model.conv.training or model.training  # restored
    assert model.training
    reference = _reference(model, x[None])
    conv = _np(reference["conv"])[0, :3]
    assert maps["conv"].dtype == np.uint8 and maps["conv"].shape == (3, 6, 6)
    assert np.abs(maps["conv"].astype(int) - _display(conv, (1, 2))).max() <= 1
    assert (maps["relu"][1] == 0).all()  # the dead channel: constant, shown black
    assert maps["fc"].shape == (6,) and maps["fc"].min() == 0 and maps["fc"].max() == 255


def test_first_layer_filters_are_symmetric_around_grey():
    graph = load_template("digits_cnn")
    model = compile_graph(graph, device="cpu")
    filters = first_layer_filters(model, graph)
    weight = _np(model.conv1.weight)
    assert filters.shape == (32, 1, 3, 3) and filters.dtype == np.uint8
    expected = np.clip(np.round(weight / np.abs(weight).max(axis=(1, 2, 3), keepdims=True)
                                * 127.5 + 128), 0, 255)
    assert np.abs(filters.astype(int) - expected).max() <= 1
    with torch.no_grad():
        model.conv1.weight[0].zero_()
    assert (first_layer_filters(model, graph)[0] == 128).all()
    mlp = load_template("mlp")
    assert first_layer_filters(compile_graph(mlp, device="cpu"), mlp) is None


# --------------------------------------------------------------------------- top patches
def _patch_graph(channels_in=1):
    return chain(
        ("image", "Input", {"shape": [channels_in, 9, 9]}),
        ("c1", "Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": 1}),
        ("p1", "MaxPool2d", {"kernel_size": 2}),
        ("c2", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 2}),
        ("out", "Output", {}),
    )


def _brute_force_c2(model, x):
    p = {k: v.detach().double().to(x.device) for k, v in model.state_dict().items()}
    y = F.conv2d(x.double(), p["c1.weight"], p["c1.bias"], padding=1)
    y = F.max_pool2d(y, 2)
    return F.conv2d(y, p["c2.weight"], p["c2.bias"], padding=1)  # (N, 4, 4, 4)


@pytest.mark.parametrize("batch_size, merge_entries", [(7, None), (7, 1), (3, 1)])
def test_top_patches_equal_brute_force(device, batch_size, merge_entries, monkeypatch):
    if merge_entries is not None:  # merge the running top-k after every batch (or two)
        monkeypatch.setattr("graph_engine.probes.patches.MERGE_ENTRIES", merge_entries)
    torch.manual_seed(2)
    graph = _patch_graph()
    analysis = analyze(graph)
    model = compile_graph(graph, device=device)
    x = torch.rand(40, 1, 9, 9)  # stays on the CPU: batches move to the device
    k = 5
    model.train()
    top = top_patches(model, graph, analysis, x, "c2", k=k, batch_size=batch_size, step=12)
    assert model.training and top.step == 12 and top.node_id == "c2"
    every = _np(_brute_force_c2(model, x))  # (N, C, H, W)
    flat = every.transpose(1, 0, 2, 3).reshape(4, -1)  # per channel: sample-major units
    for channel in range(4):
        best = flat[channel].argsort()[::-1]
        order = []  # the strongest unit per sample, then the k strongest samples
        for index in best:
            sample = index // 16
            if sample not in [o[0] for o in order]:
                order.append((sample, index % 16))
            if len(order) == k:
                break
        assert top.sample_indices[channel].tolist() == [o[0] for o in order]
        assert [tuple(p) for p in top.positions[channel]] == [divmod(o[1], 4) for o in order]
        np.testing.assert_allclose(top.values[channel],
                                   [flat[channel, s * 16 + u] for s, u in order], rtol=1e-5)
    # receptive field of c2: size 8, jump 2, start 1 -> unit i covers input rows [2i-3, 2i+5)
    assert analysis.info("c2").field[0].size == 8
    rows, cols = top.positions[..., 0], top.positions[..., 1]
    np.testing.assert_array_equal(top.boxes, np.stack([2 * rows - 3, 2 * cols - 3,
                                                       2 * rows + 5, 2 * cols + 5], axis=-1))
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (3, 3), (3, 3)))  # zero fill past the border
    for channel in range(4):
        for rank in range(k):
            y0, x0, y1, x1 = top.boxes[channel, rank] + 3
            crop = padded[top.sample_indices[channel, rank], :, y0:y1, x0:x1]
            assert np.array_equal(top.patches[channel, rank], _display(crop, (0, 1, 2)))
    assert top.patches.shape == (4, k, 1, 8, 8) and top.patches.dtype == np.uint8


def test_crop_boxes_zero_fill_pixel_for_pixel():
    images = torch.arange(2 * 2 * 4 * 5, dtype=torch.float32).reshape(2, 2, 4, 5) + 1
    boxes = np.array([[-2, -1, 1, 2], [2, 3, 5, 6], [0, 0, 3, 3]])
    crops = crop_boxes(images, np.array([1, 0, 1]), boxes, 3, 3)
    padded = F.pad(images, (3, 3, 3, 3))
    for crop, sample, (y0, x0, y1, x1) in zip(crops, [1, 0, 1], boxes.tolist()):
        assert torch.equal(crop, padded[sample, :, y0 + 3:y1 + 3, x0 + 3:x1 + 3])
    assert (crops[0, :, :2, :] == 0).all() and (crops[0, :, 2, 1:] > 0).all()
    assert (crops[1, :, 2, :] == 0).all() and (crops[1, :, :, 2] == 0).all()
    inside = crop_boxes(images, np.array([0]), boxes[2:], 3, 3)  # no zero fill needed
    assert torch.equal(inside[0], images[0, :, 0:3, 0:3])


def test_box_contains_every_input_pixel_the_unit_depends_on():
    torch.manual_seed(3)
    graph = _patch_graph(channels_in=3)
    analysis = analyze(graph)
    model = compile_graph(graph, device="cpu")
    x = torch.rand(6, 3, 9, 9)
    top = top_patches(model, graph, analysis, x, "c2", k=2)
    assert top.patches.shape == (4, 2, 3, 8, 8)
    channel, rank = 1, 0
    sample, (row, col) = top.sample_indices[channel, rank], top.positions[channel, rank]
    image = x[sample:sample + 1].clone().requires_grad_(True)
    _brute_force_c2(model, image)[0, channel, row, col].backward()
    touched = np.argwhere(image.grad[0].abs().sum(0).numpy() > 0)
    y0, x0, y1, x1 = top.boxes[channel, rank]
    assert len(touched) and (touched[:, 0] >= y0).all() and (touched[:, 0] < y1).all()
    assert (touched[:, 1] >= x0).all() and (touched[:, 1] < x1).all()


def test_top_patches_refuse_nodes_without_maps_and_cap_k():
    graph = _patch_graph()
    analysis = analyze(graph)
    model = compile_graph(graph, device="cpu")
    with pytest.raises(ValueError, match=r"'fc' must output \(C, H, W\)"):
        top_patches(model, graph, analysis, torch.rand(4, 1, 9, 9), "fc")
    top = top_patches(model, graph, analysis, torch.rand(3, 1, 9, 9), "p1", k=9, batch_size=2)
    assert top.values.shape == (3, 3) and sorted(top.sample_indices[0]) == [0, 1, 2]
    x = torch.rand(12, 1, 9, 9)
    small, whole = (top_patches(model, graph, analysis, x, "c2", k=5, batch_size=b) for b in (2, 64))
    assert np.array_equal(small.sample_indices, whole.sample_indices)
    assert np.array_equal(small.patches, whole.patches)


def test_patch_grid_image_and_atomic_png(tmp_path):
    graph = _patch_graph()
    model = compile_graph(graph, device="cpu")
    top = top_patches(model, graph, analyze(graph), torch.rand(12, 1, 9, 9), "c2", k=3)
    image = patch_grid_image(top, max_channels=2)
    tile = 8 * 3  # 8-px patches enlarged 3× to reach 24 px
    assert image.shape == (2 * (tile + GAP_PIXELS) + GAP_PIXELS,
                           LABEL_PIXELS + 3 * (tile + GAP_PIXELS) + GAP_PIXELS, 3)
    left = LABEL_PIXELS + GAP_PIXELS
    first = image[GAP_PIXELS:GAP_PIXELS + tile, left:left + tile, 0]
    assert np.array_equal(first, np.kron(top.patches[0, 0, 0], np.ones((3, 3), np.uint8)))
    unlabelled = patch_grid_image(top, max_channels=2, labels=False)
    assert unlabelled.shape[1] == image.shape[1] - LABEL_PIXELS
    assert np.array_equal(unlabelled[:, GAP_PIXELS:], image[:, left:])
    path = tmp_path / "patches.png"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    save_png(image, path)
    assert np.array_equal(np.asarray(Image.open(path)), image)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["patches.png"]  # no temporary file left behind
    with pytest.raises(ValueError, match="uint8"):
        save_png(image.astype(np.float32), tmp_path / "bad.png")


def test_patch_rows_are_labelled_with_channel_and_top_activation():
    """Each row's label column holds text (light pixels) and differs with the channel."""
    graph = _patch_graph()
    model = compile_graph(graph, device="cpu")
    top = top_patches(model, graph, analyze(graph), torch.rand(12, 1, 9, 9), "c2", k=3)
    image = patch_grid_image(top)
    row = 8 * 3 + GAP_PIXELS
    labels = [image[GAP_PIXELS + c * row:GAP_PIXELS + c * row + 24, :LABEL_PIXELS] for c in range(4)]
    assert all((label.max(axis=2) > 150).sum() > 20 for label in labels)
    assert not np.array_equal(labels[0], labels[1])


def test_row_scale_keeps_weak_channels_faint():
    """Per patch, a faint input is stretched to full contrast; with one scale per row the
    faint patch stays faint beside its channel's strong one (issue 16)."""
    graph = _patch_graph()
    model = compile_graph(graph, device="cpu")
    x = torch.rand(12, 1, 9, 9)
    x[::2] *= 0.1  # every other image faint
    top = top_patches(model, graph, analyze(graph), x, "c2", k=6)
    assert top.ranges.shape == (4, 6, 2)
    per_patch, per_row = scaled_patches(top, "patch"), scaled_patches(top, "row")
    assert np.array_equal(per_patch, top.patches)
    for channel in range(4):
        faint = [r for r in range(6) if top.sample_indices[channel, r] % 2 == 0]
        strong = [r for r in range(6) if top.sample_indices[channel, r] % 2 == 1]
        if faint and strong:
            assert per_row[channel, faint].max() < 64 <= per_row[channel, strong].max()
            assert per_patch[channel, faint].max() == 255
        # the row's scale spans exactly the row's extremes, and each patch's shape is kept
        assert per_row[channel].min() == 0 and per_row[channel].max() == 255
        for rank in range(6):
            low, high = top.ranges[channel, rank]
            expected = (low + top.patches[channel, rank] / 255 * (high - low) - top.ranges[channel, :, 0].min()) \
                / (top.ranges[channel, :, 1].max() - top.ranges[channel, :, 0].min()) * 255
            np.testing.assert_allclose(per_row[channel, rank], expected, atol=1.01)
    with pytest.raises(ValueError, match="scale"):
        scaled_patches(top, "image")


def test_crop_box_keeps_fields_wider_than_the_image_to_its_size_around_the_centre():
    boxes = np.array([[-3, -3, 5, 5], [-250, -240, 265, 275], [10, 2, 15, 9]])
    cut = crop_box(boxes, (64, 48))
    assert cut[0].tolist() == [-3, -3, 5, 5]  # fits: unchanged
    assert cut[1].tolist() == [-25, -7, 39, 41]  # 515 px cut to 64×48 around the centre (7.5, 17.5)
    assert cut[2].tolist() == [10, 2, 15, 9]


def test_wide_fields_store_small_patches_and_recrop_at_full_resolution():
    """A field far wider than the image: patches are cut to the image's size and stored at
    most STORED_PIXELS a side (memory flat in the field); the full-resolution crop of one
    patch, cut again from its sample, downscales to the stored one."""
    torch.manual_seed(4)
    graph = chain(
        ("image", "Input", {"shape": [3, 96, 80]}),
        ("c1", "Conv2d", {"out_channels": 4, "kernel_size": 7, "padding": 3, "dilation": 1}),
        ("c2", "Conv2d", {"out_channels": 5, "kernel_size": 5, "padding": 24, "dilation": 12}),
        ("c3", "Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": 96, "dilation": 48}),
        ("flat", "Flatten", {}),
        ("fc", "Linear", {"out_features": 2}),
        ("out", "Output", {}),
    )
    analysis = analyze(graph)
    assert analysis.info("c3").field[0].size > 200
    model = compile_graph(graph, device="cpu")
    x = torch.rand(5, 3, 96, 80)
    top = top_patches(model, graph, analysis, x, "c3", k=2)
    height, width = top.patches.shape[3:5]
    assert max(height, width) == STORED_PIXELS and (height, width) == (64, 53)
    assert (top.boxes[..., 2] - top.boxes[..., 0] > 200).all()  # the boxes are the whole fields
    crop = full_crop(x, int(top.sample_indices[1, 0]), tuple(top.boxes[1, 0]))
    assert crop.shape == (3, 96, 80) and crop.dtype == np.uint8
    small = F.interpolate(torch.from_numpy(crop[None]).float(), size=(64, 53), mode="area")[0].numpy()
    small = (small - small.min()) / (small.max() - small.min()) * 255  # stored patches are min-max scaled
    assert np.abs(small - top.patches[1, 0].astype(np.float64)).max() < 3


# --------------------------------------------------------------------------- evaluation
def test_confusion_matrix_matches_sklearn(device):
    from sklearn.metrics import confusion_matrix as sk_confusion

    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(200, 5, generator=generator)
    targets = torch.randint(0, 5, (200,), generator=generator)
    expected = sk_confusion(targets.numpy(), logits.argmax(1).numpy(), labels=range(5))
    cm = confusion_matrix(logits.to(device), targets.to(device), 5)
    assert cm.dtype == np.int64 and np.array_equal(cm, expected)
    assert np.array_equal(confusion_matrix(logits.argmax(1), targets, 5), expected)
    ignored = targets.clone()
    ignored[:10] = -100
    keep = ignored.numpy() >= 0
    assert np.array_equal(confusion_matrix(logits, ignored, 5),
                          sk_confusion(targets.numpy()[keep], logits.argmax(1).numpy()[keep],
                                       labels=range(5)))
    with pytest.raises(ValueError, match="0..4"):
        confusion_matrix(torch.tensor([5]), torch.tensor([0]), 5)


def test_per_class_accuracy_marks_absent_classes_with_none():
    cm = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    assert per_class_accuracy(cm) == [0.75, None, 0.5]


def test_segmentation_metrics_hand_worked():
    targets = torch.tensor([[[0, 0, 1, 1], [2, 2, 2, 1]]])
    predicted = torch.tensor([[[0, 1, 1, 1], [2, 2, 0, 1]]])
    logits = F.one_hot(predicted, 4).permute(0, 3, 1, 2).float()  # (1, 4, 2, 4)
    metrics = segmentation_metrics(logits, targets, 4)
    # IoU: class 0 1/(1+1+1), class 1 3/(3+1+0), class 2 2/(2+0+1); class 3 absent everywhere
    assert metrics["pixel_accuracy"] == pytest.approx(6 / 8)
    assert metrics["iou"] == pytest.approx([1 / 3, 3 / 4, 2 / 3, None])
    assert metrics["mean_iou"] == pytest.approx((1 / 3 + 3 / 4 + 2 / 3) / 3)


# --------------------------------------------------------------------------- sampling
class Transitions(nn.Module):
    """A stand-in character model: next-character logits depend on the last character."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32))
        self.lengths = []

    def forward(self, tokens):
        self.lengths.append(tokens.shape[1])
        return self.table[tokens]


def _char_model(device="cpu", vocabulary="abcdefg\ufffd"):
    torch.manual_seed(5)
    size = len(vocabulary)
    graph = chain(("chars", "Input", {"shape": [16], "dtype": "int64"}),
                  ("embed", "Embedding", {"num_embeddings": size, "embedding_dim": 8}),
                  ("rnn", "LSTM", {"hidden_size": 16}),
                  ("next", "Linear", {"out_features": size}), ("out", "Output", {}))
    return compile_graph(graph, device=device)


def test_greedy_beam_of_width_one_and_zero_temperature_agree(device):
    vocabulary = "abcdefg\ufffd"
    model = _char_model(device, vocabulary)
    model.train()
    greedy = beam_search(model, vocabulary, "abc", 30, beam_width=1, window=8)
    assert model.training and model.rnn.training  # restored
    assert sample_text(model, vocabulary, "abc", 30, temperature=0, window=8) == greedy
    assert sample_text(model, vocabulary, "abc", 30, temperature=1e-8, window=8, seed=1) == greedy
    tokens = [vocabulary.index(c) for c in "abc"]
    manual = []
    with torch.no_grad():
        model.eval()
        for _ in range(30):
            logits = model(torch.tensor([tokens[-8:]], device=device))[0, -1]
            tokens.append(int(logits.argmax()))
            manual.append(vocabulary[tokens[-1]])
    assert greedy == "".join(manual)


def test_sampling_is_deterministic_with_a_seed():
    vocabulary = "abcdefg\ufffd"
    model = _char_model("cpu", vocabulary)
    one = sample_text(model, vocabulary, "ab", 40, seed=7)
    assert len(one) == 40 and set(one) <= set(vocabulary)
    assert sample_text(model, vocabulary, "ab", 40, seed=7) == one
    assert sample_text(model, vocabulary, "ab", 40, seed=8) != one
    state = torch.random.get_rng_state()
    sample_text(model, vocabulary, "ab", 5)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global stream is untouched


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    model = Transitions(logits.expand(4, 4))
    counts = {}
    for temperature in (0.5, 1.0, 4.0):
        text = sample_text(model, "abcd", "a", 4000, temperature=temperature, window=1, seed=0)
        counts[temperature] = np.array([text.count(c) for c in "abcd"]) / len(text)
        expected = torch.softmax(logits / temperature, 0).numpy()
        assert np.abs(counts[temperature] - expected).max() < 0.03
    assert counts[0.5][0] > counts[1.0][0] > counts[4.0][0]


def test_beam_search_finds_the_better_sequence_greedy_misses():
    # from 'a': b 0.6, c 0.4; from 'b': a, b, c equally likely; from 'c': a 0.99
    probs = torch.tensor([[0.0, 0.6, 0.4], [1 / 3, 1 / 3, 1 / 3], [0.99, 0.005, 0.005]])
    model = Transitions(probs.log())
    assert beam_search(model, "abc", "a", 2, beam_width=1)[0] == "b"
    assert beam_search(model, "abc", "a", 2, beam_width=2) == "ca"
    table = torch.softmax(torch.randn(3, 3, generator=torch.Generator().manual_seed(6)), 1).log()
    model = Transitions(table)
    best = max((table[0, i] + table[i, j] + table[j, m], "abc"[i] + "abc"[j] + "abc"[m])
               for i in range(3) for j in range(3) for m in range(3))[1]
    assert beam_search(model, "abc", "a", 3, beam_width=27) == best  # a full beam is exhaustive


def test_prompt_characters_outside_the_vocabulary_and_the_window():
    table = torch.eye(4) * 5  # each character predicts itself
    model = Transitions(table)
    assert sample_text(model, "abc\ufffd", "a€", 3, temperature=0) == "\ufffd" * 3
    assert sample_text(model, "abcd", "b€", 3, temperature=0) == "bbb"  # '€' dropped
    with pytest.raises(ValueError, match="no character of the vocabulary"):
        sample_text(model, "abcd", "€", 3)
    model.lengths.clear()
    beam_search(model, "abcd", "abcdabcdab", 6, beam_width=2, window=4)
    assert max(model.lengths) == 4


def test_char_lstm_template_samples():
    model = compile_graph(load_template("char_lstm"), device="cpu")
    vocabulary = "".join(chr(i) for i in range(128))
    text = sample_text(model, vocabulary, "def ", 10, temperature=0.8, seed=0)
    assert len(text) == 10 and all(ord(c) < 128 for c in text)
    assert len(beam_search(model, vocabulary, "def ", 5, beam_width=3)) == 5
