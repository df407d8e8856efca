"""Probes within a time budget (issue 18): the schedule's invariant on a fake clock, the
rotating sample of activation nodes, and the probe time a run reports."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings as hypothesis_settings, strategies as st

from graph_engine import compile_graph, load_template
from graph_engine.probes import activation_nodes, activation_stats
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
from graph_engine.training.probe_schedule import ProbeSchedule


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _simulate(schedule: ProbeSchedule, clock: FakeClock, step_s: float, costs: list[float],
              steps: int) -> list[tuple[float, float, float]]:
    """Train ``steps`` steps of ``step_s`` seconds; a due probe costs the next of ``costs``.
    Returns (start, end, spent before it) of every probe."""
    probes = []
    for step in range(steps):
        clock.now += step_s
        if schedule.due(step) and len(probes) < len(costs):
            spent = schedule.spent
            schedule.begin()
            start = clock.now
            clock.now += costs[len(probes)]
            schedule.end()
            probes.append((start, clock.now, spent))
    return probes


@hypothesis_settings(max_examples=60, deadline=None)
@given(share=st.sampled_from([0.01, 0.05, 0.2]),
       step_ms=st.floats(0.5, 400.0),
       costs=st.lists(st.floats(0.0005, 3.0), min_size=3, max_size=40))
def test_probes_never_take_more_than_their_share(share, step_ms, costs):
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", share, clock=clock)
    probes = _simulate(schedule, clock, step_ms / 1000.0, costs * 50, steps=4000)
    assert probes, "the first step is probed"
    first_step = step_ms / 1000.0  # the schedule's clock starts at the first step
    for start, _, spent in probes:
        # a probe starts only while the time spent so far is within the share of the time so far
        assert spent <= share * (start - first_step) + 1e-9
    # so over the whole run the share holds up to the one probe that may have just run
    elapsed = clock.now - first_step
    last = probes[-1][1] - probes[-1][0]
    assert schedule.spent <= share * elapsed + last + 1e-9
    assert schedule.used_share() == pytest.approx(schedule.spent / elapsed)


def test_constant_costs_hold_the_share_in_every_cycle():
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", 0.05, clock=clock)
    probes = _simulate(schedule, clock, 0.010, [0.5] * 1000, steps=20000)
    for (_, end, _), (start, finish, _) in zip(probes, probes[1:]):
        # from one probe's end to the next one's: the probe is at most 5 % of that cycle
        assert (finish - start) / (finish - end) <= 0.05 + 1e-9
    # over the run too, but for the first probe, which had no training before it
    assert schedule.spent - 0.5 <= 0.05 * schedule.elapsed()


def test_interval_probes_aim_at_half_the_budget():
    """The budget is a ceiling: probes of a constant cost are spaced to take AIM of it in every
    cycle (from one probe's end to the next one's), leaving the rest as the margin."""
    from graph_engine.training.probe_schedule import AIM

    assert AIM == 0.5
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", 0.05, clock=clock)
    probes = _simulate(schedule, clock, 0.001, [0.2] * 1000, steps=100000)
    shares = [(finish - start) / (finish - end)
              for (_, end, _), (start, finish, _) in zip(probes, probes[1:])]
    assert len(shares) >= 10
    # the gap is 0.2 × (1 − 0.025) / 0.025 = 7.8 s, rounded up to the next 1-ms step
    assert all(0.025 * 0.999 <= share <= 0.025 + 1e-9 for share in shares)
    assert schedule.used_share() == pytest.approx(0.025, rel=0.05)


def test_the_clock_counts_from_a_probe_end():
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", 1.0, clock=clock)  # no budget: the interval alone
    probes = _simulate(schedule, clock, 0.001, [2.5] * 10, steps=6000)
    for (_, end, _), (start, _, _) in zip(probes, probes[1:]):
        # a probe longer than the interval must not run back to back with the next
        assert start - end >= 1.0 - 1e-9


def test_cheap_probes_keep_the_settings_interval():
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", 0.05, clock=clock)
    probes = _simulate(schedule, clock, 0.010, [0.001] * 100, steps=1000)  # 10 s of training
    assert 9 <= len(probes) <= 11  # once a second: the budget would allow far more


def test_a_step_interval_is_kept_exactly_and_measured():
    clock = FakeClock()
    schedule = ProbeSchedule(5, "steps", 0.05, clock=clock)
    probes = _simulate(schedule, clock, 0.01, [1.0] * 100, steps=50)
    assert len(probes) == 10
    assert schedule.spent == pytest.approx(10.0) and schedule.probes == 10


def test_epoch_end_probes_count_against_the_budget():
    clock = FakeClock()
    schedule = ProbeSchedule(1000, "ms", 0.05, clock=clock)
    assert schedule.due(0)
    clock.now = 10.0
    schedule.add(1.0)  # a text sample at an epoch's end: 10 % so far
    assert not schedule.due(1)
    clock.now = 19.9
    assert not schedule.due(2)
    clock.now = 20.0  # 5 %: the ceiling is the whole budget, not the half the spacing aims at
    assert schedule.due(3)


def test_rotating_sample_covers_every_node_and_keeps_the_watched_one(tmp_path):
    graph = load_template("resnet_style")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=0)
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, None, tmp_path / "run")
    run_probes = trainer.probes
    nodes = run_probes.activation_nodes
    assert len(nodes) > 20
    run_probes.apply_requests({"watch_node": nodes[3]})
    seen: set[str] = set()
    order = {n: i for i, n in enumerate(nodes)}
    for _ in range(len(nodes)):
        sample = run_probes.activation_sample()
        assert nodes[3] in sample and len(sample) <= 7
        assert sample == sorted(sample, key=order.__getitem__)
        seen |= set(sample)
    assert seen == set(nodes)


def test_the_rotation_comes_back_to_the_same_few_node_sets(tmp_path):
    """Fixed groups, not a sliding window: each set's tap is built once and then reused."""
    from graph_engine.probes import _common

    graph = load_template("resnet_style")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=0)
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, None, tmp_path / "run")
    run_probes, nodes = trainer.probes, trainer.probes.activation_nodes
    groups = -(-len(nodes) // 6)
    samples = [tuple(run_probes.activation_sample()) for _ in range(3 * groups)]
    assert len(set(samples)) == groups and samples[:groups] == samples[groups:2 * groups]
    assert {n for sample in samples for n in sample} == set(nodes)
    assert all(len(sample) <= 6 for sample in samples)
    for _ in range(2 * groups):
        run_probes.before_update()
        run_probes.after_update(1)
    assert len(_common._taps[trainer.model]) <= groups + 1  # feature maps' tap beside the groups'


def test_a_probe_batch_of_token_windows_is_capped_in_positions():
    from graph_engine.training.probing import PROBE_BATCH, probe_samples
    from graph_engine.training.tasks import GraphEnds

    def ends(shape, dtype):
        return GraphEnds("in", "out", shape, dtype, (10,), "fc")

    assert probe_samples(ends((3, 32, 32), "float32")) == PROBE_BATCH
    assert probe_samples(ends((12,), "float32")) == PROBE_BATCH  # features, not positions
    assert probe_samples(ends((8,), "int64")) == PROBE_BATCH
    assert probe_samples(ends((64,), "int64")) == 8
    assert probe_samples(ends((1000,), "int64")) == 4


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (0.01, 100.0), (1e4, -3.0), (1e-3, 1e4)])
def test_activation_moments_match_a_float64_reference(scale, offset):
    from graph_engine.probes.activations import _moments

    value = torch.relu(torch.randn(32, 16, 24, 24, generator=torch.Generator().manual_seed(3))) * scale + offset
    mean, std = _moments(value)
    reference = value.double()
    assert float(mean) == pytest.approx(float(reference.mean()), rel=1e-6, abs=1e-9)
    assert float(std) == pytest.approx(float(reference.std(correction=0)), rel=1e-5)


_EDGES = [-2.0, -1.0, -0.5, 0.0, 0.25, 1.0, 1.875, 2.0]


@hypothesis_settings(max_examples=80, deadline=None)
@given(values=st.lists(st.floats(-3.0, 3.0, width=32) | st.sampled_from(_EDGES), min_size=1, max_size=400),
       bins=st.sampled_from([1, 2, 4, 8, 16, 32, 64]))
def test_histogram_counts_match_histc_and_exact_comparisons(values, bins):
    """The bincount histogram (the CPU's fast path) against torch.histc, with values on the
    edges, on the range's ends and outside it (a value equal to the top is in the last bin)."""
    from graph_engine.probes.activations import _histogram

    value = torch.tensor(values, dtype=torch.float32)
    got = _histogram(value, (-2.0, 2.0), bins, "n").tolist()
    assert got[:bins] == torch.histc(value, bins=bins, min=-2.0, max=2.0).tolist()
    assert got[bins:] == [float((value < -2.0).sum()), float((value > 2.0).sum())]


@pytest.mark.parametrize("bins, value_range", [(32, (0.0, 0.375)), (7, (-1.0, 5.0)), (10, (-1.0, 1.0))])
def test_histograms_of_activations_match_numpy(bins, value_range):
    import numpy as np

    from graph_engine.probes.activations import _histogram

    generator = torch.Generator().manual_seed(bins)
    value = torch.randn(16, 8, 12, 12, generator=generator) * value_range[1]
    value[0, 0, 0, :3] = torch.tensor(value_range[1])  # at the top: the last bin
    value[0, 0, 1, :2] = torch.tensor(value_range[0])  # at the bottom: the first bin
    got = _histogram(value, value_range, bins, "n").tolist()
    reference = value.double().numpy().reshape(-1)
    assert got[:bins] == np.histogram(reference, bins=bins, range=value_range)[0].tolist()
    assert got[bins:] == [(reference < value_range[0]).sum(), (reference > value_range[1]).sum()]


def test_infinities_are_neither_below_nor_above_the_range():
    graph, model = _relu_graph()
    x = torch.tensor([[1.0, -5.0, 2.0, float("inf")], [0.5, 3.0, float("nan"), 9.0]])
    stats = activation_stats(model, graph, x, node_ids=["r"], bins=4, ranges={"r": (0.0, 4.0)})["r"]
    # finite ReLU outputs 1, 0, 2, 0.5, 3, 9: one above the range, none below; inf and NaN in no bin
    assert (stats["below"], stats["above"], sum(stats["counts"])) == (0, 1, 5)
    assert stats["counts"] == [2, 1, 1, 1] and stats["nonfinite_fraction"] == pytest.approx(2 / 8)


def _relu_graph():
    from tests.engine.helpers import chain

    graph = chain(("x", "Input", {"shape": [4]}), ("r", "ReLU", {}), ("fc", "Linear", {}), ("out", "Output", {}))
    return graph, compile_graph(graph, device="cpu")


def test_rectifier_counts_match_count_nonzero():
    from graph_engine.probes.activations import _nonzero_per_unit

    value = torch.relu(torch.randn(8, 5, 6, 6, generator=torch.Generator().manual_seed(1)))
    value[:, 3] = 0.0
    value[1, 2, 0, 0] = -0.0
    value[1, 2, 0, 1] = 1e-45  # the smallest float32 above zero
    got = _nonzero_per_unit(value, (0, 2, 3))
    assert got.tolist() == torch.count_nonzero(value, dim=(0, 2, 3)).tolist()


def test_a_rectifier_holding_nan_counts_it_as_non_zero():
    graph, model = _relu_graph()
    x = torch.tensor([[0.0, -1.0, float("nan"), 2.0], [0.0, 0.0, 1.0, -3.0]])
    stats = activation_stats(model, graph, x, node_ids=["r"], bins=4)["r"]
    # units (features) 0 and 1 are zero for both samples; unit 2 holds NaN and 1.0
    assert (stats["dead_units"], stats["zero_fraction"]) == (2, pytest.approx(5 / 8))


def test_a_sample_of_nodes_matches_the_full_measurement():
    graph = load_template("digits_cnn")
    model = compile_graph(graph, device="cpu")
    x = torch.randn(8, 1, 8, 8)
    nodes = activation_nodes(model, graph)
    full = activation_stats(model, graph, x)
    some = activation_stats(model, graph, x, nodes[1:3], ranges={n: full[n]["range"] for n in nodes},
                            tap_ids=nodes)
    assert list(some) == nodes[1:3]
    for node_id, entry in some.items():
        assert entry == pytest.approx(full[node_id])


def test_a_run_reports_the_share_its_probes_took(tmp_path):
    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=1, probe_every=5, probe_unit="steps")
    events = []
    Trainer(graph, load_dataset_for(graph, settings), settings, events.append, tmp_path / "run").run()
    started = next(e for e in events if e["type"] == "started")
    assert started["activation_nodes"] == activation_nodes(compile_graph(graph), graph)
    timing = [e["data"] for e in events if e["type"] == "probe" and e["kind"] == "probe_time"]
    # the probes at steps 0, 5, .., 20 of the 23, then the epoch's end (counted, not a probe)
    assert [t["probes"] for t in timing] == [1, 2, 3, 4, 5, 5]
    assert all(0 < t["share"] < 1 and t["budget"] == 0.05 for t in timing)
    assert timing[-1]["seconds"] >= timing[0]["seconds"] > 0


def _small_char_lstm():
    graph = load_template("char_lstm")
    graph.set_params("chars", {"shape": [16]})
    graph.set_params("lstm", {"hidden_size": 16, "num_layers": 1, "dropout": 0.0})
    return graph


def _text_run(tmp_path, graph):
    text = tmp_path / "corpus.txt"
    text.write_text("def add(a, b):\n    return a + b\n\n" * 8, encoding="utf-8")
    settings = settings_from_dict(graph.training, dataset=str(text), epochs=1, probe_every=0)
    events = []
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, events.append, tmp_path / "run")
    trainer.run()
    return trainer, [e["data"] for e in events if e["type"] == "probe" and e["kind"] == "samples"]


def test_epoch_end_text_samples_decode_incrementally(tmp_path):
    from graph_engine.probes import sampling

    trainer, samples = _text_run(tmp_path, _small_char_lstm())
    assert len(samples) == 1 and len(samples[0]["text"]) == 240
    assert trainer.model in sampling._decoders  # the graph's decoder step served the sample


def test_a_model_that_cannot_decode_step_by_step_still_samples_text(tmp_path):
    graph = _small_char_lstm()
    graph.set_params("lstm", {"bidirectional": True})  # reads backwards: no step-by-step decoding
    trainer, samples = _text_run(tmp_path, graph)
    assert len(samples) == 1 and len(samples[0]["text"]) == 240
    assert trainer.probes._decodable is False


@pytest.mark.parametrize("cores, load, threads", [(2, 0.1, 2), (2, 0.7, 1), (2, 6.0, 1), (16, 3.2, 13), (4, 0.0, 4)])
def test_threads_come_from_the_free_cores(cores, load, threads):
    from graph_engine.training.pace import free_threads

    assert free_threads(cores, load) == threads


def test_other_work_is_the_runnable_count_now_not_the_load_average():
    from graph_engine.training.pace import busy_elsewhere, free_threads

    readings = iter(["1.90 1.20 0.80 1/250 999", "1.90 1.20 0.80 3/250 999", "1.90 1.20 0.80 3/250 999",
                     "1.90 1.20 0.80 1/250 999"])
    # the reader itself is one of the runnable: 0, 2, 2, 0 others → 1 on average (the load
    # average of 1.9 left by a run that just ended is not counted)
    assert busy_elsewhere(samples=4, interval=0.0, read=lambda: next(readings)) == 1.0
    idle = busy_elsewhere(samples=3, interval=0.0, read=lambda: "2.00 1.50 1.00 1/300 42")
    assert idle == 0.0 and free_threads(2, idle) == 2
    assert busy_elsewhere(samples=2, interval=0.0, read=lambda: "garbage") >= 0.0  # falls back, never raises


def test_pace_says_starved_when_the_process_gets_little_cpu_or_slows_down():
    from graph_engine.training.pace import PaceMonitor

    clock, cpu = FakeClock(), FakeClock()
    pace = PaceMonitor(threads=1, on_cpu=True, clock=clock, cpu=cpu, window=2.0)
    assert pace.tick(0) is None  # the first call only marks the start

    def window(steps: int, cpu_seconds: float, step: list[int] = [0]):
        step[0] += steps
        clock.now += 2.0
        cpu.now += cpu_seconds
        return pace.tick(step[0])

    alone = window(200, 1.9)
    assert alone["rate"] == 100 and alone["cpu"] == pytest.approx(0.95) and not alone["starved"]
    assert window(1, 0.0) is not None and pace.tick(201) is None  # within a window: nothing
    pace.restart()
    pace.tick(201)
    little_cpu = window(120, 0.4)  # 0.2 of a core
    assert little_cpu["starved"] and little_cpu["best_rate"] == 100
    slow = [window(30, 1.9), window(30, 1.9)]  # all the CPU it wants, at 15 steps/s
    assert [w["starved"] for w in slow] == [False, True]  # two slow windows in a row
    assert not window(200, 1.9)["starved"]


def test_the_probe_share_is_written_to_metrics_and_read_back_from_the_folder(tmp_path):
    """Pace records (issue 18): the share survives in metrics.jsonl; an opened run shows it."""
    import json

    from graph_engine.experiments.records import run_row
    from graph_engine.training.history import RunHistory

    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=2, probe_every=5, probe_unit="steps")
    events = []
    run_dir = tmp_path / "run"
    Trainer(graph, load_dataset_for(graph, settings), settings, events.append, run_dir).run()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    paces = [r for r in records if r["type"] == "pace"]
    assert len(paces) >= 2  # one at each epoch's end at least
    assert all(0 < p["probe_share"] < 1 and p["probe_budget"] == 0.05 and p["probes"] >= 1 for p in paces)
    assert [p["step"] for p in paces] == sorted(p["step"] for p in paces)
    assert paces == [e for e in events if e["type"] == "pace"]  # the same record, live and stored
    last_epoch = max(i for i, r in enumerate(records) if r["type"] == "epoch")
    assert any(r["type"] == "pace" for r in records[last_epoch:])  # the share includes the epoch's end
    history = RunHistory.from_run_dir(run_dir)
    assert history.damage == []
    assert history.probe_share == pytest.approx(paces[-1]["probe_share"])
    assert run_row(run_dir).probe_share == pytest.approx(paces[-1]["probe_share"])


def test_older_run_folders_without_pace_records_still_open(tmp_path):
    import math

    from graph_engine.experiments.records import run_row
    from graph_engine.training.history import RunHistory

    run_dir = tmp_path / "old"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text(
        '{"type": "step", "step": 1, "epoch": 1, "loss": 2.0, "lr": 0.001, "time": 0.1}\n'
        '{"type": "epoch", "step": 1, "epoch": 1, "time": 0.2, "val": {"loss": 1.9}, "best": true}\n'
        '{"type": "pace", "time": 0.3, "probe_share": 0.02}\n')  # damaged: no step
    history = RunHistory.from_run_dir(run_dir)
    assert history.probe_share is None and history.pace == {}
    assert history.damage == ["metrics.jsonl line 3: a pace record without 'step'"]
    assert math.isnan(run_row(run_dir).probe_share)


def test_a_run_without_probes_records_its_pace_but_no_probe_share(tmp_path):
    import json

    from graph_engine.training.history import RunHistory

    graph = load_template("digits_cnn")
    settings = settings_from_dict(graph.training, epochs=1)
    run_dir = tmp_path / "run"
    Trainer(graph, load_dataset_for(graph, settings), settings, None, run_dir, probes=False).run()
    paces = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
             if '"pace"' in line]
    assert paces and all("probe_share" not in p for p in paces)
    assert RunHistory.from_run_dir(run_dir).probe_share is None
