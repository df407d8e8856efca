"""RunInspector: checkpoint jobs in a worker thread, results (or one-line errors) on the GUI thread."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from app.run_inspector import JobError, PatchDetail, RunInspector
from graph_engine import load_template
from graph_engine.analysis import analyze
from graph_engine.probes import beam_search, top_patches
from graph_engine.probes.patches import TopPatches
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.history import RunHistory
from graph_engine.training.replay import open_run
from tests.timing import deadline_ms

#: a job on a real checkpoint; stretched by the machine's measured slowdown (tests/timing.py)
WAIT_MS = deadline_ms(30_000)


def train(graph, run_dir: Path, **overrides) -> RunHistory:
    """Train ``graph`` into ``run_dir``; the history of its events."""
    settings = settings_from_dict(graph.training, **overrides)
    history = RunHistory()
    Trainer(graph, load_dataset_for(graph, settings), settings, history.apply, run_dir).run()
    assert history.status == "finished", history.message
    return history


def tiny_char_graph():
    """The character LSTM template cut down to a 16-character window and 16 hidden units."""
    graph = load_template("char_lstm")
    graph.set_params("chars", {"shape": [16]})
    graph.set_params("embed", {"embedding_dim": 8})
    graph.set_params("lstm", {"hidden_size": 16, "num_layers": 1, "dropout": 0.0})
    return graph


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("inspector") / "digits"
    train(load_template("digits_cnn"), run_dir, epochs=2)
    return run_dir


@pytest.fixture(scope="module")
def char_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("inspector") / "chars"
    train(tiny_char_graph(), run_dir, epochs=1, batch_size=2048, learning_rate=0.02)
    return run_dir


@pytest.fixture
def inspector(qtbot):
    inspector = RunInspector()
    yield inspector
    inspector.shutdown()


class Inbox:
    """Collects callback results and the thread each arrived on."""

    def __init__(self):
        self.results: list = []
        self.threads: list[threading.Thread] = []

    def __call__(self, result) -> None:
        self.results.append(result)
        self.threads.append(threading.current_thread())

    def wait(self, qtbot, count: int = 1):
        qtbot.waitUntil(lambda: len(self.results) >= count, timeout=WAIT_MS)
        return self.results[-1]


def test_top_patches_match_a_direct_search_and_arrive_on_the_gui_thread(qtbot, inspector, digits_run):
    inbox = Inbox()
    inspector.top_patches(digits_run, "conv2", inbox)
    top = inbox.wait(qtbot)
    assert isinstance(top, TopPatches), top
    assert inbox.threads == [threading.main_thread()]
    opened = open_run(digits_run)
    data = load_dataset_for(opened.graph, opened.settings)
    x_all = torch.cat([data.x_train, data.x_val])
    expected = top_patches(opened.model, opened.graph, analyze(opened.graph), x_all, "conv2", k=9)
    channels = analyze(opened.graph).info("conv2").out_shape[0]
    assert top.node_id == "conv2" and top.k == 9 and top.values.shape == (channels, 9)
    assert top.step == opened.checkpoint["step"] > 0
    np.testing.assert_allclose(top.values, expected.values, rtol=1e-5)
    np.testing.assert_array_equal(top.sample_indices, expected.sample_indices)
    assert (np.diff(top.values, axis=1) <= 0).all()
    assert top.sample_indices.max() < len(x_all) == 1797


def test_patch_detail_is_the_image_and_the_map_peaking_at_the_unit(qtbot, inspector, digits_run):
    inbox = Inbox()
    inspector.top_patches(digits_run, "conv2", inbox)
    top = inbox.wait(qtbot)
    channel, rank = 5, 0
    sample = int(top.sample_indices[channel, rank])
    box = tuple(int(v) for v in top.boxes[channel, rank])
    inspector.patch_detail(digits_run, "conv2", channel, sample, box, float(top.values[channel, rank]), inbox)
    detail = inbox.wait(qtbot, 2)
    assert isinstance(detail, PatchDetail), detail
    assert detail.image.dtype == np.uint8 and detail.image.shape == (1, 8, 8)
    assert detail.image.max() == 255  # scaled for display
    assert (detail.sample_index, detail.channel, detail.box) == (sample, channel, box)
    assert detail.value == pytest.approx(float(top.values[channel, rank]))
    inspector.patch_detail(digits_run, "conv2", channel, -1, box, 1.0, inbox)  # no wrapping around
    error = inbox.wait(qtbot, 3)
    assert isinstance(error, JobError) and str(error) == "there is no sample -1 in the dataset"
    row, col = top.positions[channel, rank]
    # the unit is that sample's strongest in the channel, so the min-max scaled map peaks there
    assert detail.activation[row, col] == detail.activation.max() == 255


def test_a_validation_sample_out_of_range_is_a_job_error(qtbot, inspector, digits_run):
    inbox = Inbox()
    inspector.feature_maps(digits_run, 5000, ["conv1"], inbox)
    error = inbox.wait(qtbot)
    assert isinstance(error, JobError) and str(error) == "there is no validation sample 5000"
    inspector.feature_maps(digits_run, -1, ["conv1"], inbox)  # not the last training sample
    error = inbox.wait(qtbot, 2)
    assert isinstance(error, JobError) and str(error) == "there is no validation sample -1"
    inspector.feature_maps(digits_run, 359, ["conv1", "conv2"], inbox)  # the last of 360
    step, maps, sample = inbox.wait(qtbot, 3)
    assert step > 0 and set(maps) == {"conv1", "conv2"} and sample.shape == (1, 8, 8)


@pytest.mark.parametrize("case", ["no checkpoint", "no such node", "not spatial", "not a character model",
                                  "not a run folder"])
def test_failures_arrive_as_one_line_job_errors(qtbot, inspector, digits_run, tmp_path, case):
    inbox = Inbox()
    if case == "no checkpoint":
        bare = tmp_path / "bare"
        shutil.copytree(digits_run, bare, ignore=shutil.ignore_patterns("checkpoints"))
        inspector.top_patches(bare, "conv2", inbox)
        expected = "has no checkpoint yet"
    elif case == "no such node":
        inspector.top_patches(digits_run, "nope", inbox)
        expected = "no node 'nope'"
    elif case == "not spatial":
        inspector.top_patches(digits_run, "fc1", inbox)
        expected = "must output (C, H, W) feature maps"
    elif case == "not a character model":
        inspector.generate(digits_run, "The ", 20, 0.8, 0, inbox)
        expected = "not a character model"
    else:
        inspector.top_patches(tmp_path, "conv2", inbox)
        expected = "not a run folder"
    error = inbox.wait(qtbot)
    assert isinstance(error, JobError)
    assert expected in str(error) and "\n" not in str(error)


def test_a_programming_error_in_a_job_leaves_its_traceback_in_the_run_folder(qtbot, inspector, digits_run,
                                                                              tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(digits_run, run_dir)

    def broken(*args, **kwargs):
        raise KeyError("x")

    monkeypatch.setattr("graph_engine.probes.top_patches", broken)  # the job imports it when it runs
    inbox = Inbox()
    inspector.top_patches(run_dir, "conv2", inbox)
    error = inbox.wait(qtbot)
    assert isinstance(error, JobError)
    assert str(error) == f"KeyError: 'x' (traceback in {run_dir / 'error.txt'})"
    text = (run_dir / "error.txt").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "in broken" in text and "patches" in text


def test_generate_samples_and_searches_beams(qtbot, inspector, char_run):
    inbox = Inbox()
    opened = open_run(char_run)
    inspector.generate(char_run, "The ", 40, 0.8, 0, inbox, seed=7)
    step, sampled = inbox.wait(qtbot)
    assert step == opened.checkpoint["step"] and len(sampled) == 40
    inspector.generate(char_run, "The ", 40, 0.8, 0, inbox, seed=7)
    assert inbox.wait(qtbot, 2) == (step, sampled)  # same seed, same text
    inspector.generate(char_run, "The ", 30, 0.8, 3, inbox)
    step, beamed = inbox.wait(qtbot, 3)
    vocabulary = opened.dataset["vocabulary"]
    # incremental: the LSTM's state is carried on, so the 30 characters see more than the 16-character window
    assert beamed == beam_search(opened.model, vocabulary, "The ", 30, beam_width=3, graph=opened.graph)
    assert len(beamed) == 30 and set(beamed) <= set(vocabulary)


def test_a_newer_job_with_the_same_key_supersedes_a_queued_one(qtbot, inspector):
    release = threading.Event()
    calls: list[str] = []

    def blocker():
        release.wait(10)
        return "block"

    inspector.submit("block", blocker, calls.append)   # holds the single worker
    inspector.submit("x", lambda: "first", calls.append)
    inspector.submit("x", lambda: "second", calls.append)
    inspector.submit("y", lambda: "other key", calls.append)
    release.set()
    qtbot.waitUntil(lambda: "other key" in calls, timeout=WAIT_MS)
    assert calls == ["block", "second", "other key"]


def test_a_result_superseded_while_running_is_dropped(qtbot, inspector):
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow():
        started.set()
        release.wait(10)
        return "stale"

    inspector.submit("x", slow, calls.append)
    assert started.wait(10)
    inspector.submit("x", lambda: "fresh", calls.append)
    release.set()
    qtbot.waitUntil(lambda: bool(calls), timeout=WAIT_MS)
    assert calls == ["fresh"]  # the stale result finished first (one worker) and was dropped


def test_the_run_is_loaded_once_until_its_checkpoint_changes(qtbot, digits_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(digits_run, run_dir)
    inspector = RunInspector()
    try:
        light = inspector.load(run_dir, data=False)
        assert light.x_all is None and light.opened.graph.name
        full = inspector.load(run_dir)
        assert full.x_all.shape[0] == 1797
        assert json.loads((run_dir / "dataset.json").read_text())["train"] == full.validation_start
        assert inspector.load(run_dir) is full and inspector.load(run_dir, data=False) is full
        best = run_dir / "checkpoints" / "best.safetensors"
        stamp = best.stat().st_mtime_ns + 5_000_000_000
        os.utime(best, ns=(stamp, stamp))
        newer = inspector.load(run_dir)
        assert newer is not full  # new weights ...
        assert newer.x_all is full.x_all  # ... but the same run's data is not read again
    finally:
        inspector.shutdown()
