"""Training throughput of the Trainer (default probes) against a minimal hand-written
PyTorch loop over the same model, data and optimizer, on every template that trains on
images or text.

Target: Trainer steps/s >= 0.95 x the hand loop's, on every template.

The Trainer's time is its whole ``run()``: steps, probes (default settings), validation and
checkpoints at each epoch's end, the epoch-end picture (confusion matrix, segmentation sample,
generated text), metrics.jsonl. The hand loop is the least a person would write that does the
same job: shuffle, slice, forward, the task's cross-entropy, zero_grad, backward, gradient
clipping when the settings ask for it, the optimizer step, and a validation pass at each
epoch's end. Both use the same compiled model architecture, data tensors on the device,
optimizer, learning rate, batch size and epochs; each round runs both, alternating which goes
first, and the ratio is the median over rounds, so drift on a loaded machine hits both alike.
The epochs per run are chosen from a warm-up so that a run lasts about ``--seconds``.

    PYTHONPATH=$PWD python bench/trainer_overhead.py [--template NAME ...] [--rounds N]
        [--seconds S] [--threads T] [--device cpu|cuda] [--train-samples N] [--cpu]

On a loaded machine pass ``--cpu``: both loops are timed by the CPU time they used, which other
processes change far less than the wall clock (both run one torch thread by default; the
trainer's background writer thread counts against it).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402
from graph_engine import compile_graph, load_template  # noqa: E402
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict  # noqa: E402

#: the templates that train on images or text (issue 18's targets)
TEMPLATES = ("digits_cnn", "resnet_style", "vgg_style", "unet_like", "char_lstm")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _clocks() -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds (all threads): on a loaded machine the CPU
    time a loop needed is the steadier measure, the wall clock says what a person waits."""
    return time.perf_counter(), time.process_time()


def hand_loop(graph, data, device: torch.device, epochs: int, batch: int, seed: int,
              settings=None, cpu: bool = False) -> tuple[float, int]:
    """Seconds (CPU seconds with ``cpu``) and steps of the minimal loop (Adam at 1e-3 when no
    settings are given)."""
    torch.manual_seed(seed)
    model = compile_graph(graph, device)
    rate = settings.learning_rate if settings is not None else 1e-3
    clip = settings.grad_clip if settings is not None else 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=rate)
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    steps = 0
    _sync(device)
    start = _clocks()
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch):
            index = order[i:i + batch]
            output = model(x[index])
            if output.dim() == 3:  # a character model: (B, T, V) logits against (B, T) targets
                output = output.reshape(-1, output.shape[-1])
            loss = F.cross_entropy(output, y[index].reshape(-1) if y.dim() == 2 else y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            steps += 1
        model.eval()
        with torch.no_grad():
            correct = 0
            for i in range(0, len(x_val), 256):
                output = model(x_val[i:i + 256])
                correct += int((output.argmax(-1 if output.dim() == 3 else 1) == y_val[i:i + 256]).sum())
        model.train()
        assert correct >= 0
    _sync(device)
    end = _clocks()
    return end[cpu] - start[cpu], steps


def trainer_run(graph, data, settings, folder: Path, cpu: bool = False) -> tuple[float, int]:
    trainer = Trainer(graph, data, settings, None, folder)
    _sync(trainer.device)
    start = _clocks()
    result = trainer.run()
    _sync(trainer.device)
    end = _clocks()
    return end[cpu] - start[cpu], result.step


def _subset(data, count: int | None):
    """The dataset with only its first ``count`` training samples (validation untouched)."""
    if not count or count >= len(data.x_train):
        return data
    import dataclasses

    return dataclasses.replace(data, x_train=data.x_train[:count], y_train=data.y_train[:count])


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def measure(template: str, args, scratch: Path) -> list[float]:
    """The trainer/hand ratios of one template's rounds (prints its table)."""
    device = torch.device(args.device)
    graph = load_template(template)
    base = settings_from_dict(graph.training, epochs=1, device=args.device)
    data = _subset(load_dataset_for(graph, base), args.train_samples)
    hand_s, _ = hand_loop(graph, data, device, 1, base.batch_size, 0, base, args.cpu)  # warm-up, an epoch's time
    trainer_run(graph, data, base, scratch / f"{template}-warm")
    epochs = max(1, round(args.seconds / hand_s))
    settings = settings_from_dict(graph.training, epochs=epochs, device=args.device)
    probe = (f"probe budget {settings.probe_budget:g} %" if hasattr(settings, "probe_budget")
             else f"probe_every {settings.probe_every} {settings.probe_unit}")
    print(f"\n{template} on {len(data.x_train)} training samples of {data.describe()}, batch {settings.batch_size}, "
          f"{epochs} epoch(s) per run, {probe}, {'CPU' if args.cpu else 'wall-clock'} seconds")
    print(f"{'round':>5} {'hand steps/s':>13} {'trainer steps/s':>16} {'ratio':>7}   load")
    ratios = []
    for round_index in range(args.rounds):
        def run_hand():
            return hand_loop(graph, data, device, epochs, settings.batch_size, round_index, settings, args.cpu)

        def run_trainer():
            return trainer_run(graph, data, settings, scratch / f"{template}-r{round_index}", args.cpu)

        if round_index % 2:  # alternate who goes first, so drift does not favour either
            run_s, run_steps = run_trainer()
            hand_s, hand_steps = run_hand()
        else:
            hand_s, hand_steps = run_hand()
            run_s, run_steps = run_trainer()
        hand_rate, run_rate = hand_steps / hand_s, run_steps / run_s
        ratios.append(run_rate / hand_rate)
        print(f"{round_index + 1:>5} {hand_rate:>13.1f} {run_rate:>16.1f} {ratios[-1]:>7.3f}   "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="about how long one run lasts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both loops)")
    parser.add_argument("--template", nargs="+", default=list(TEMPLATES))
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N samples only (shorter epochs; validation unchanged)")
    parser.add_argument("--cpu", action="store_true",
                        help="rates from this process's CPU time, not the wall clock (a loaded machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("Rosenblatt bench: Trainer (default probes) vs a minimal hand-written loop")
    print("\n".join(machine_lines(args.device)))
    print(f"load    : {load_line()} (at the start)")
    medians = {}
    with tempfile.TemporaryDirectory() as scratch:
        for template in args.template:
            medians[template] = statistics.median(measure(template, args, Path(scratch)))
    print(f"\nload    : {load_line()} (at the end)")
    print(f"\n{'template':<14} {'median ratio':>12}")
    for template, median in medians.items():
        print(f"{template:<14} {median:>12.3f}")
    worst = min(medians.values())
    verdict = "PASS" if worst >= 0.95 and not math.isnan(worst) else "FAIL"
    print(f"\nVERDICT: {verdict} — lowest median trainer/hand steps/s ratio {worst:.3f} vs target >= 0.95 "
          f"on every template ({args.device}, {args.threads} thread(s), {'CPU' if args.cpu else 'wall-clock'} time)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
