"""Training throughput of the Trainer (default probes) against a minimal hand-written
PyTorch loop over the same model, data and optimizer, on every template that trains on
images or text (issue 18).

Target: Trainer steps/s >= 0.95 x the hand loop's, on every template, judged on the WHOLE
run (the median over rounds of the per-round ratio).

What each side does, from nothing to a trained model (both timed from the same point):

- the Trainer: its constructor (snapshot, analysis, compile, optimizer, probes) and its whole
  ``run()``: the steps, the interval probes at their defaults (activation statistics, gradient
  health, feature maps, filters: within ``probe_budget`` % of the time), validation at each
  epoch's end with the task's metrics, the epoch-end picture (confusion matrix, segmentation
  sample or generated text), checkpoints (best and last, written by a background thread whose
  CPU time counts), metrics.jsonl, the best weights restored at the end;
- the hand loop: the least a person would write that does the same training: compile the
  graph, Adam at the settings' rate, shuffle, slice, forward, the task's cross-entropy (with
  the same class weights when the settings balance classes), zero_grad, backward, gradient
  clipping when the settings ask for it, the optimizer step, and a validation pass (accuracy)
  at each epoch's end. No probes, no checkpoints, no logging.

Same architecture and initial seed, data tensors, optimizer, rate, batch size, epochs and
torch threads (one by default). Each round runs both, alternating which goes first, so drift on
a loaded machine hits both alike; the ratio is the median of the rounds' ratios. A full garbage
collection runs before each side starts, off the clock, so neither pays for what the other left.

Clocks: on the CPU the default is this process's CPU time (``time.process_time``, all its
threads), which other processes disturb far less than the wall clock; ``--clock wall`` for the
wall clock (on CUDA the wall clock is the default, with a synchronize at each end). Each round
prints the 1-minute load average and the share of a core each side got (CPU s / wall s): below
about 0.9 other work was taking the core, and even CPU time then runs slower (shared caches).

Two ratios per round: the whole run (the target), and the step loop alone, which leaves out
what happens once per epoch or per run (validation, epoch-end pictures, checkpoints, the final
restore; for the hand loop its validation): a short run weighs those far more than a real one.

    PYTHONPATH=$PWD python bench/trainer_overhead.py [--template NAME ...] [--rounds N]
        [--seconds S | --epochs E] [--threads T] [--device cpu|cuda] [--train-samples N]
        [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402
from graph_engine import compile_graph, load_template  # noqa: E402
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict  # noqa: E402
from graph_engine.training.tasks import balanced_weights  # noqa: E402

#: the templates that train on images or text (issue 18's targets)
TEMPLATES = ("digits_cnn", "resnet_style", "vgg_style", "unet_like", "char_lstm")
TARGET = 0.95


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclasses.dataclass
class Timing:
    """One side of one round: steps, the clock's seconds for the whole run and for the part
    that is not the step loop, and wall/CPU seconds (for the share of a core it got)."""

    steps: int
    seconds: float
    outside_steps: float
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    @property
    def step_rate(self) -> float:
        return self.steps / max(self.seconds - self.outside_steps, 1e-9)

    @property
    def core_share(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else math.nan


class Stopwatch:
    """Wall and CPU clocks read together; ``seconds`` is the chosen one."""

    def __init__(self, clock: str):
        self.cpu_clock = clock == "cpu"

    @staticmethod
    def read() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def seconds(self, start: tuple[float, float], end: tuple[float, float]) -> float:
        return end[1] - start[1] if self.cpu_clock else end[0] - start[0]


def hand_loop(graph, data, device: torch.device, epochs: int, batch: int, seed: int,
              settings=None, watch: Stopwatch | None = None) -> Timing:
    """The minimal loop (Adam at 1e-3 when no settings are given); see the module docstring."""
    watch = watch or Stopwatch("wall")
    gc.collect()  # what earlier runs left is not collected on this one's time
    _sync(device)
    start = watch.read()
    torch.manual_seed(seed)
    model = compile_graph(graph, device)
    rate = settings.learning_rate if settings is not None else 1e-3
    clip = settings.grad_clip if settings is not None else 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=rate)
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    weight = None
    if settings is not None and settings.class_weighting == "balanced":
        weight = balanced_weights(data.task, y, data.num_classes)
    validating = 0.0
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch):
            index = order[i:i + batch]
            output = model(x[index])
            if output.dim() == 3 and y.dim() == 2:  # a character model: (B, T, V) logits, (B, T) targets
                loss = F.cross_entropy(output.reshape(-1, output.shape[-1]), y[index].reshape(-1))
            else:
                loss = F.cross_entropy(output, y[index], weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            steps += 1
        _sync(device)
        began = watch.read()
        model.eval()
        with torch.no_grad():
            correct = 0
            for i in range(0, len(x_val), 256):
                output = model(x_val[i:i + 256])
                axis = -1 if output.dim() == 3 and y_val.dim() == 2 else 1
                correct += int((output.argmax(axis) == y_val[i:i + 256]).sum())
        model.train()
        assert correct >= 0
        validating += watch.seconds(began, watch.read())
    _sync(device)
    end = watch.read()
    return Timing(steps, watch.seconds(start, end), validating, end[0] - start[0], end[1] - start[1])


def trainer_run(graph, data, settings, folder: Path, watch: Stopwatch | None = None) -> Timing:
    """A Trainer run; the time outside its step loop (set-up up to its first step, each epoch's
    end, the finish) is measured by wrapping those methods of this one instance."""
    watch = watch or Stopwatch("wall")
    outside = [0.0]
    marks: dict[str, tuple[float, float]] = {}

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "started":
            marks["started"] = watch.read()

    gc.collect()  # what earlier runs left is not collected on this one's time
    start = watch.read()
    trainer = Trainer(graph, data, settings, on_event, folder)

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _sync(trainer.device)
            began = watch.read()
            try:
                return method(*args, **kwargs)
            finally:
                _sync(trainer.device)
                outside[0] += watch.seconds(began, watch.read())
        return wrapper

    trainer._end_epoch = timed(trainer._end_epoch)
    trainer._finish = timed(trainer._finish)
    result = trainer.run()
    _sync(trainer.device)
    end = watch.read()
    if result.status != "completed":
        raise SystemExit(f"the trainer's run ended {result.status}: {result.message}")
    before_first_step = watch.seconds(start, marks.get("started", start))
    return Timing(result.step, watch.seconds(start, end), outside[0] + before_first_step,
                  end[0] - start[0], end[1] - start[1])


def _subset(data, count: int | None):
    """The dataset with only its first ``count`` training samples (validation untouched)."""
    if not count or count >= len(data.x_train):
        return data
    return dataclasses.replace(data, x_train=data.x_train[:count], y_train=data.y_train[:count])


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


@dataclasses.dataclass
class Result:
    template: str
    whole: list[float]
    steps: list[float]
    loads: list[float]


def measure(template: str, args, scratch: Path, watch: Stopwatch) -> Result:
    """The trainer/hand ratios of one template's rounds (prints its table)."""
    device = torch.device(args.device)
    graph = load_template(template)
    base = settings_from_dict(graph.training, epochs=1, device=args.device)
    data = _subset(load_dataset_for(graph, base), args.train_samples)
    hand_loop(graph, data, device, 1, base.batch_size, 0, base, watch)  # warm-up (first calls, allocator)
    trainer_run(graph, data, base, scratch / f"{template}-warm", watch)
    warm = hand_loop(graph, data, device, 1, base.batch_size, 0, base, watch)  # an epoch's time
    epochs = args.epochs or max(1, round(args.seconds / warm.seconds))
    settings = settings_from_dict(graph.training, epochs=epochs, device=args.device)
    print(f"\n{template} on {len(data.x_train)} training samples of {data.describe()}, batch {settings.batch_size}, "
          f"{epochs} epoch(s) per run, probe budget {settings.probe_budget:g} % (probe_every "
          f"{settings.probe_every} {settings.probe_unit}), {'CPU' if watch.cpu_clock else 'wall-clock'} seconds")
    print(f"{'round':>5} {'first':>7} {'hand st/s':>10} {'trainer st/s':>13} {'whole':>6} {'steps':>6}"
          f"   {'load':>5} {'core hand/trainer':>18}")
    result = Result(template, [], [], [])
    for round_index in range(args.rounds):
        def run_hand() -> Timing:
            return hand_loop(graph, data, device, epochs, settings.batch_size, settings.seed, settings, watch)

        def run_trainer() -> Timing:
            return trainer_run(graph, data, settings, scratch / f"{template}-r{round_index}", watch)

        load = os.getloadavg()[0]
        if round_index % 2:  # alternate who goes first, so drift does not favour either
            trainer, hand = run_trainer(), run_hand()
        else:
            hand, trainer = run_hand(), run_trainer()
        if trainer.steps != hand.steps:
            raise SystemExit(f"{template}: the trainer ran {trainer.steps} steps, the hand loop {hand.steps}")
        load = (load + os.getloadavg()[0]) / 2
        result.whole.append(trainer.rate / hand.rate)
        result.steps.append(trainer.step_rate / hand.step_rate)
        result.loads.append(load)
        print(f"{round_index + 1:>5} {'trainer' if round_index % 2 else 'hand':>7} {hand.rate:>10.2f} "
              f"{trainer.rate:>13.2f} {result.whole[-1]:>6.3f} {result.steps[-1]:>6.3f}   {load:>5.2f} "
              f"{hand.core_share:>9.2f}/{trainer.core_share:<8.2f}", flush=True)
    return result


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="about how long one run lasts (epochs from a warm-up epoch)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (instead of --seconds)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both loops)")
    parser.add_argument("--template", nargs="+", default=list(TEMPLATES))
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N samples only (shorter epochs; validation unchanged)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None,
                        help="cpu: this process's CPU time (default on the CPU); wall: the wall clock")
    parser.add_argument("--cpu", action="store_true", help="same as --clock cpu (older spelling)")
    args = parser.parse_args()
    clock = "cpu" if args.cpu else args.clock or ("cpu" if args.device == "cpu" else "wall")
    watch = Stopwatch(clock)
    torch.set_num_threads(args.threads)
    print("Rosenblatt bench: Trainer (default probes) vs a minimal hand-written loop")
    print("\n".join(machine_lines(args.device)))
    print(f"load    : {load_line()} (at the start)")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for template in args.template:
            results.append(measure(template, args, Path(scratch), watch))
    print(f"\nload    : {load_line()} (at the end)")
    print(f"\n{'template':<14} {'whole run':>9} {'(range)':>13} {'step loop':>10} {'(range)':>13} {'load':>11}")
    for r in results:
        print(f"{r.template:<14} {statistics.median(r.whole):>9.3f} {spread(r.whole):>13} "
              f"{statistics.median(r.steps):>10.3f} {spread(r.steps):>13} {spread(r.loads):>11}")
    medians = {r.template: statistics.median(r.whole) for r in results}
    worst = min(medians.values())
    verdict = "PASS" if worst >= TARGET and not math.isnan(worst) else "FAIL"
    print(f"\nVERDICT: {verdict} — lowest median trainer/hand steps/s ratio over the whole run {worst:.3f} "
          f"({min(medians, key=medians.get)}) vs target >= {TARGET} on every template ({args.device}, "
          f"{args.threads} thread(s), {clock} clock, {args.rounds} alternating rounds)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
