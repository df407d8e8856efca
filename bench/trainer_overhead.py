"""Training throughput of the Trainer (probes 1-3 on at their default interval) against a
minimal hand-written PyTorch loop over the same model and data.

Target: Trainer steps/s >= 0.95 x the hand loop's.

The Trainer's time is its whole ``run()``: steps, probes (once a second by default),
validation and checkpoints at each epoch's end, metrics.jsonl. The hand loop is the least
a person would write that does the same job: shuffle, slice, forward, cross-entropy,
zero_grad, backward, Adam step, and a validation pass at each epoch's end.
Both use the same compiled model architecture, data tensors on the device, batch size
and epochs; each round runs both, alternating which goes first, and the ratio is the
median over rounds, so drift on a throttled VM hits both alike.

    .venv/bin/python bench/trainer_overhead.py [--device cpu|cuda] [--rounds N] [--epochs E]
"""

from __future__ import annotations

import argparse
import math
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def hand_loop(graph, data, device: torch.device, epochs: int, batch: int, seed: int) -> tuple[float, int]:
    """Seconds and steps of the minimal loop."""
    torch.manual_seed(seed)
    model = compile_graph(graph, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    steps = 0
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch):
            index = order[i:i + batch]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(x_val[i:i + 256]).argmax(1) == y_val[i:i + 256]).sum())
                          for i in range(0, len(x_val), 256))
        model.train()
        assert 0 <= correct <= len(x_val)
    _sync(device)
    return time.perf_counter() - start, steps


def trainer_run(graph, data, settings, folder: Path) -> tuple[float, int]:
    trainer = Trainer(graph, data, settings, None, folder)
    _sync(trainer.device)
    start = time.perf_counter()
    result = trainer.run()
    _sync(trainer.device)
    return time.perf_counter() - start, result.step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--template", default="digits_cnn")
    args = parser.parse_args()
    device = torch.device(args.device)
    graph = load_template(args.template)
    settings = settings_from_dict(graph.training, epochs=args.epochs, device=args.device)
    data = load_dataset_for(graph, settings)
    print("Rosenblatt bench: Trainer (probes 1-3 at their default interval) vs a minimal hand-written loop")
    print("\n".join(machine_lines(args.device)))
    print(f"model   : {args.template} on {data.describe()}, batch {settings.batch_size}, "
          f"{args.epochs} epochs per run, probe_every {settings.probe_every} {settings.probe_unit}")
    ratios = []
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        hand_loop(graph, data, device, 1, settings.batch_size, 0)  # warm-up
        trainer_run(graph, data, settings_from_dict(graph.training, epochs=1, device=args.device),
                    Path(scratch) / "warm")
        for round_index in range(args.rounds):
            def run_hand():
                return hand_loop(graph, data, device, args.epochs, settings.batch_size, round_index)

            def run_trainer():
                return trainer_run(graph, data, settings, Path(scratch) / f"r{round_index}")

            if round_index % 2:  # alternate who goes first, so drift does not favour either
                run_s, run_steps = run_trainer()
                hand_s, hand_steps = run_hand()
            else:
                hand_s, hand_steps = run_hand()
                run_s, run_steps = run_trainer()
            hand_rate, run_rate = hand_steps / hand_s, run_steps / run_s
            ratios.append(run_rate / hand_rate)
            rows.append((round_index + 1, hand_rate, run_rate, ratios[-1]))
    print(f"\n{'round':>5} {'hand steps/s':>13} {'trainer steps/s':>16} {'ratio':>7}")
    for index, hand_rate, run_rate, ratio in rows:
        print(f"{index:>5} {hand_rate:>13.1f} {run_rate:>16.1f} {ratio:>7.3f}")
    median = statistics.median(ratios)
    verdict = "PASS" if median >= 0.95 else "FAIL"
    print(f"\nVERDICT: {verdict} — median trainer/hand steps/s ratio {median:.3f} vs target >= 0.95 "
          f"({args.device})")
    return 0 if verdict == "PASS" and not math.isnan(median) else 1


if __name__ == "__main__":
    sys.exit(main())
