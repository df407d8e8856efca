"""Data-parallel training: the shard of each epoch, the ranks' agreements, and a real
two-process torchrun job (gloo on the CPU) compared with one process."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graph_engine import load_template, save_graph
from graph_engine.training import (
    Trainer, TrainingControl, load_dataset_for, read_metrics, settings_from_dict,
)
from graph_engine.training.distributed import (
    Distributed, DistributedError, ProcessGroup, RankZeroFailure, from_environment,
)
from graph_engine.training.runs import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    """A small digits CNN without dropout: one process and two then draw no noise, so
    their runs must agree to rounding."""
    graph = load_template("digits_cnn")
    for node_id in ("conv1", "conv2", "conv3"):
        graph.set_params(node_id, {"out_channels": 8})
    graph.set_params("fc1", {"out_features": 32})
    graph.set_params("dropout", {"p": 0.0})
    return graph


@pytest.fixture(scope="module")
def digits(graph):
    return load_dataset_for(graph, settings_from_dict(graph.training))


class SimulatedRank(ProcessGroup):
    """One rank of a job whose other ranks are simulated in-process: no process group;
    ``other_loss(step)`` is another rank's loss, ``other_stops(call)`` its stop wish."""

    def __init__(self, rank, world_size=2, other_loss=None, other_stops=None):
        super().__init__(rank, world_size, rank, environ={})
        self.other_loss = other_loss or (lambda step: None)
        self.other_stops = other_stops or (lambda call: False)
        self.agreements = []

    def start(self, device_setting):
        self.device = torch.device("cpu")
        return self.device

    def wrap(self, model):
        return model

    def _any(self, flag):
        self.agreements.append(flag)
        return flag or self.other_stops(len(self.agreements))

    def mean(self, values):
        first_step = self.trainer.step - len(values) + 1  # the flushed group ends at this step
        other = [self.other_loss(first_step + i) for i in range(len(values))]
        return torch.tensor([v if o is None else (v + o) / 2 for v, o in zip(values.tolist(), other)])

    def share(self, value):
        if isinstance(value, tuple) and value[0] == {}:  # rank 0's validation, done here
            return self.trainer.evaluate()[0], value[1]
        return value


def settings(graph, **overrides):
    overrides.setdefault("epochs", 1)
    overrides.setdefault("probe_every", 0)
    return settings_from_dict(graph.training, **overrides)


def simulated_trainer(graph, digits, rank, run_dir, sink=None, control=None, **rank_options):
    distributed = SimulatedRank(rank, **rank_options)
    trainer = Trainer(graph, digits, settings(graph), sink, run_dir, control, distributed=distributed)
    distributed.trainer = trainer
    return trainer, distributed


@pytest.mark.parametrize("samples,world_size", [(10, 3), (12, 4), (1437, 2), (2, 3)])
def test_shards_are_equal_sized_and_cover_the_epoch(samples, world_size):
    order = torch.randperm(samples, generator=torch.Generator().manual_seed(7))
    shards = [ProcessGroup(rank, world_size, rank, environ={}).shard(order) for rank in range(world_size)]
    size = math.ceil(samples / world_size)
    assert [len(s) for s in shards] == [size] * world_size
    taken = torch.cat(shards).tolist()
    assert set(taken) == set(order.tolist())  # every sample, each on one rank ...
    assert len(taken) - len(set(taken)) == size * world_size - samples  # ... but the padding
    if samples % world_size == 0:
        assert sorted(taken) == sorted(order.tolist())


def test_every_rank_takes_the_same_steps_on_its_own_part(tmp_path, graph, digits):
    trainers = [simulated_trainer(graph, digits, rank, tmp_path / "run", world_size=3)[0]
                for rank in range(3)]
    per_rank = math.ceil(len(digits.x_train) / 3)
    assert [t.steps_per_epoch for t in trainers] == [math.ceil(per_rank / 64)] * 3
    orders = [t._order(0).tolist() for t in trainers]
    assert orders[0] != orders[1] and set(orders[0]).isdisjoint(orders[1])
    assert set(sum(orders, [])) == set(range(len(digits.x_train)))
    assert trainers[0]._order(1).tolist() != orders[0]  # a new order each epoch


def test_environment_decides_one_process_or_a_rank():
    assert type(from_environment({})) is Distributed
    assert type(from_environment({"WORLD_SIZE": "1", "RANK": "0"})) is Distributed
    rank = from_environment({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert (rank.rank, rank.world_size, rank.local_rank, rank.is_main) == (3, 4, 1, False)
    with pytest.raises(DistributedError, match="WORLD_SIZE is set but RANK is not: start data-parallel "
                                               "training with torchrun"):
        from_environment({"WORLD_SIZE": "2"})


def test_a_missing_backend_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rank = ProcessGroup(0, 2, 0, environ={})
    with pytest.raises(DistributedError, match="device cuda asks for the NCCL backend, but CUDA is not "
                                               "available on this machine; use --device cpu"):
        rank.start("cuda")
    with pytest.raises(DistributedError, match="not on Apple MPS"):
        rank.start("mps")
    assert rank.device_for("auto") == torch.device("cpu")


def test_a_nan_on_another_rank_fails_this_one_at_the_same_flush(tmp_path, graph, digits):
    trainer, _ = simulated_trainer(graph, digits, 0, tmp_path / "run",
                                   other_loss=lambda step: math.nan if step == 7 else None)
    result = trainer.run()
    assert result.status == "failed"
    assert result.message == "the loss became nan at step 7"
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in records if r["type"] == "step"] == list(range(1, 7))
    assert records[-1]["type"] == "failed"


def test_a_stop_anywhere_stops_every_rank_at_the_next_group(tmp_path, graph, digits):
    control = TrainingControl()
    trainer, rank = simulated_trainer(graph, digits, 0, tmp_path / "own", control=control)
    model = trainer.model
    # a stop asked for during step 5 (as Ctrl-C would) waits for the next group's start
    trainer.step_model = lambda x: (trainer.step == 4 and control.stop(), model(x))[1]
    result = trainer.run()
    assert result.status == "stopped" and result.step == trainer.settings.log_every == 10
    assert rank.agreements == [False, True]
    trainer, rank = simulated_trainer(graph, digits, 0, tmp_path / "other",
                                      other_stops=lambda call: call == 2)
    result = trainer.run()
    assert result.status == "stopped" and result.step == 10 and rank.agreements == [False, False]


def test_a_failure_on_one_rank_waits_on_no_other(tmp_path, graph, digits):
    def sink(event):
        if event["type"] == "step" and event["step"] == 3:
            raise RuntimeError("CUDA out of memory")

    trainer, rank = simulated_trainer(graph, digits, 0, tmp_path / "run", sink=sink)
    calls = []
    mean = rank.mean
    rank.mean = lambda values: (calls.append(len(values)), mean(values))[1]
    result = trainer.run()
    assert result.status == "failed" and result.message.startswith("RuntimeError: CUDA out of memory")
    assert calls == [10]  # the failed group's flush is not averaged again: the others are not there
    assert read_metrics(tmp_path / "run" / "metrics.jsonl")[-1]["type"] == "failed"


def test_other_ranks_write_nothing_and_say_nothing(tmp_path, graph, digits):
    events = []
    trainer, _ = simulated_trainer(graph, digits, 1, tmp_path / "run", sink=events.append)
    assert trainer.probes is None
    result = trainer.run()
    assert result.status == "completed" and result.step == trainer.steps_per_epoch
    assert events == [] and not (tmp_path / "run").exists()


def test_a_failure_on_rank_0_before_training_stops_the_others(tmp_path, graph, digits):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "something").write_text("x")

    class Rank1Told(SimulatedRank):
        def share(self, value):
            return "run already holds files" if value is None else super().share(value)

    distributed = Rank1Told(1)
    trainer = Trainer(graph, digits, settings(graph), None, tmp_path / "run", distributed=distributed)
    with pytest.raises(RankZeroFailure, match="run already holds files"):
        trainer.run()


def _torchrun(*arguments):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "app", "train", *map(str, arguments)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_two_processes_train_like_one_and_write_one_run_folder(tmp_path, graph, digits):
    """Two ranks of batch 32 take the same global batches as one process of batch 64 (the
    shards interleave the epoch's order), so without dropout their losses agree to rounding."""
    graph_file = tmp_path / "cnn.json"
    save_graph(graph, graph_file)
    runs = tmp_path / "runs"
    done = _torchrun(graph_file, "--epochs", "2", "--lr", "0.01", "--batch-size", "32", "--device", "cpu",
                     "--tensorboard", "--out", runs / "run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in runs.iterdir()] == ["run"]
    run_dir = runs / "run"
    assert done.stdout.count("accuracy ") == 1  # rank 0 alone reports
    assert "2 processes" in done.stderr and "completed after 2 epochs (46 steps)" in done.stderr
    assert "leaked semaphore" not in done.stderr  # the ranks' control flags are released before they exit
    records = read_metrics(run_dir / "metrics.jsonl")
    steps = [r for r in records if r["type"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 47))  # one rank's steps, not doubled
    assert [r["type"] for r in records].count("epoch") == 2
    assert [r["type"] for r in records].count("finished") == 1
    assert len(list((run_dir / "tensorboard").iterdir())) == 1  # one writer: rank 0's
    state, _, _, meta = load_checkpoint(run_dir / "checkpoints" / "last")
    assert meta["world_size"] == 2 and meta["step"] == 46
    assert set(state) == set(graph_module_keys(graph))  # no "module." prefix from DDP

    alone = Trainer(graph, digits, settings(graph, epochs=2, learning_rate=0.01, device="cpu"), None,
                    tmp_path / "alone").run()
    single = read_metrics(alone.run_dir / "metrics.jsonl")
    single_steps = [r for r in single if r["type"] == "step"]
    assert [r["loss"] for r in steps[:10]] == pytest.approx([r["loss"] for r in single_steps[:10]],
                                                            rel=1e-3)
    accuracy = records[-1]["metrics"]["accuracy"]
    assert accuracy >= 0.6 and abs(accuracy - alone.metrics["accuracy"]) <= 0.05

    more = _torchrun("--resume", run_dir, "--epochs", "3")
    assert more.returncode == 0, more.stderr[-3000:]
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["step"] for r in records if r["type"] == "step"] == list(range(1, 70))
    assert [r["type"] for r in records].count("finished") == 1
    with pytest.raises(ValueError, match=r"was trained by 2 process\(es\): resume it with as many \(now 1\)"):
        Trainer.resume(run_dir, lambda g, s: digits)


def graph_module_keys(graph):
    from graph_engine.compiler import compile_graph
    return compile_graph(graph, "cpu").state_dict().keys()
