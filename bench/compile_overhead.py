"""Training-step overhead of compile_graph's fx.GraphModule vs hand-written PyTorch.

Target: a forward+backward step of ``graph_engine.compile_graph(graph)`` takes at most
3% longer than the same network written by hand (median ratio <= 1.03).

Models (both from the shipped templates):
  (a) LeNet-5       (load_template("lenet5")),       1x32x32, batch 64: scikit-learn
      digits (8x8, scaled to [0, 1]) upsampled to 32x32 with F.interpolate (bilinear)
  (b) ResNet-style  (load_template("resnet_style")), 3x32x32, batch 32: random data

Contenders, all with the same weights (the compiled module's state_dict, loaded with
load_state_dict(strict=True)) and checked to give the same outputs before timing:
  compiled  compile_graph(graph, device)  (the torch.fx.GraphModule the app trains)
  hand      an idiomatic hand-written nn.Module: parametric layers as submodules,
            stateless ops functional (torch.tanh, F.relu, F.avg_pool2d, ...), and for
            ResNet a BasicBlock class. THE TARGET IS compiled / hand.
  exported  the source from generate_code(graph), exec'd: a plain nn.Module with the
            very same structure as the compiled graph, so compiled / exported isolates
            the cost of fx itself (secondary, informational).

One step = zero_grad(set_to_none) + forward + cross-entropy + backward (train mode).
Each round times every contender once for ``iters`` steps, in rotating order, so
drift (thermal, other load) hits all alike; the reported ratio is the median over
rounds of that round's compiled/hand time, with a bootstrap 95% interval. Warm-up
rounds are discarded. torch's thread count is left at its default. CUDA runs
synchronize around every timed block. Each model/device pair stops after
--max-seconds (at least 20 rounds), so a throttled 2-core VM still ends in ~2 minutes.

Run from the repo root:
  .venv/bin/python bench/compile_overhead.py [--device all|cpu|cuda] [--rounds N]
                                             [--iters K] [--max-seconds S]
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import graph_engine  # noqa: E402
from graph_engine.lowering import class_name  # noqa: E402

TARGET_RATIO = 1.03


# --------------------------------------------------------------------------- hand-written
class LeNet5(nn.Module):
    """LeCun et al. 1998, as one would type it (state_dict keys match the template's ids)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, kernel_size=5)
        self.c3 = nn.Conv2d(6, 16, kernel_size=5)
        self.f5 = nn.Linear(16 * 5 * 5, 120)
        self.f6 = nn.Linear(120, 84)
        self.f7 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.tanh(self.f5(x))
        x = torch.tanh(self.f6(x))
        return self.f7(x)


class BasicBlock(nn.Module):
    """He et al. 2016 basic block; a 1x1 projection (+BN) where the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.proj = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.proj_bn = nn.BatchNorm2d(cout)
        else:
            self.proj = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.proj is None else self.proj_bn(self.proj(x))
        return F.relu(out + skip)


class ResNetStyle(nn.Module):
    """Three stages (16, 32, 64 channels) of two basic blocks, GAP, linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.s1b1, self.s1b2 = BasicBlock(16, 16), BasicBlock(16, 16)
        self.s2b1, self.s2b2 = BasicBlock(16, 32, 2), BasicBlock(32, 32)
        self.s3b1, self.s3b2 = BasicBlock(32, 64, 2), BasicBlock(64, 64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))
        for block in (self.s1b1, self.s1b2, self.s2b1, self.s2b2, self.s3b1, self.s3b2):
            x = block(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def resnet_keys(state: dict) -> dict:
    """Compiled keys ``s1b1_conv1.weight`` -> hand-written ``s1b1.conv1.weight``."""
    return {re.sub(r"^(s\db\d)_", r"\1.", key): value for key, value in state.items()}


# --------------------------------------------------------------------------- data
def digits_batch(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images[:batch], dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
    return images, torch.tensor(digits.target[:batch], dtype=torch.long)


def random_batch(batch: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(batch, *shape, generator=generator),
            torch.randint(0, 10, (batch,), generator=generator))


@dataclass
class Case:
    name: str
    template: str
    batch: int
    make_data: Callable[[int], tuple[torch.Tensor, torch.Tensor]]
    make_hand: Callable[[], nn.Module]
    map_keys: Callable[[dict], dict]


CASES = (
    Case("LeNet-5", "lenet5", 64, digits_batch, LeNet5, lambda s: s),
    Case("ResNet-style", "resnet_style", 32, lambda b: random_batch(b, (3, 32, 32)),
         ResNetStyle, resnet_keys),
)


# --------------------------------------------------------------------------- timing
def exported_module(graph: graph_engine.Graph) -> nn.Module:
    namespace: dict = {"__name__": "rosenblatt_exported"}
    exec(compile(graph_engine.generate_code(graph), "<generate_code>", "exec"), namespace)
    return namespace[class_name(graph.name)]()


def build(case: Case, device: torch.device) -> tuple[dict[str, nn.Module], torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    graph = graph_engine.load_template(case.template)
    compiled = graph_engine.compile_graph(graph, device=device)
    state = {k: v.detach().clone() for k, v in compiled.state_dict().items()}
    hand = case.make_hand()
    hand.load_state_dict(case.map_keys(state), strict=True)
    exported = exported_module(graph)
    exported.load_state_dict(state, strict=True)
    models = {"compiled": compiled, "hand": hand.to(device), "exported": exported.to(device)}
    x, y = case.make_data(case.batch)
    x, y = x.to(device), y.to(device)
    # Same weights -> same outputs (eval mode, so BatchNorm uses identical running stats).
    with torch.no_grad():
        outs = {name: m.eval()(x) for name, m in models.items()}
    for name, out in outs.items():
        if not torch.allclose(out, outs["compiled"], atol=1e-5, rtol=1e-4):
            diff = (out - outs["compiled"]).abs().max().item()
            raise AssertionError(f"{case.name}: {name} differs from compiled by {diff:.3g}")
    for model in models.values():
        model.train()
    return models, x, y


def step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def timed(model: nn.Module, x: torch.Tensor, y: torch.Tensor, iters: int, cuda: bool) -> float:
    """Seconds per step, averaged over ``iters`` consecutive steps."""
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        step(model, x, y)
    if cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


@dataclass
class Result:
    case: str
    device: str
    iters: int
    rounds: int
    medians: dict[str, float]
    ratio: float            # median over rounds of compiled/hand (THE target)
    ratio_q1: float
    ratio_q3: float
    best_ratio: float       # min(compiled) / min(hand): robust to CPU throttling pauses
    ci_low: float           # 95% bootstrap interval of the median ratio
    ci_high: float
    fx_ratio: float         # median over rounds of compiled/exported
    spread: float           # median / fastest hand-written block: how noisy the machine was


def quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def bootstrap_median(values: list[float], draws: int = 2000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median of ``values`` (fixed seed)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


def run_case(case: Case, device: torch.device, rounds: int, iters: int | None,
             block_s: float, max_s: float) -> Result:
    cuda = device.type == "cuda"
    models, x, y = build(case, device)
    names = list(models)
    # Warm-up: allocator, cuDNN/oneDNN algorithm choice, autograd caches.
    for _ in range(5):
        for name in names:
            step(models[name], x, y)
    if iters is None:   # calibrate so each timed block lasts about block_s
        one = min(timed(models["hand"], x, y, 1, cuda) for _ in range(5))
        iters = max(1, min(200, math.ceil(block_s / max(one, 1e-6))))
    warm_rounds = max(3, rounds // 20)
    times: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for r in range(warm_rounds + rounds):
        if r > warm_rounds + 20 and time.perf_counter() - start > max_s:
            break       # time cap: keep the whole script inside its budget
        order = names[r % len(names):] + names[:r % len(names)]
        sample = {name: timed(models[name], x, y, iters, cuda) for name in order}
        if r >= warm_rounds:
            for name in names:
                times[name].append(sample[name])
    ratios = [c / h for c, h in zip(times["compiled"], times["hand"])]
    fx_ratios = [c / e for c, e in zip(times["compiled"], times["exported"])]
    best = {name: min(v) for name, v in times.items()}
    medians = {name: statistics.median(v) for name, v in times.items()}
    q1, q3 = quartiles(ratios)
    low, high = bootstrap_median(ratios)
    return Result(case.name, str(device), iters, len(ratios), medians,
                  statistics.median(ratios), q1, q3, best["compiled"] / best["hand"], low, high,
                  statistics.median(fx_ratios), medians["hand"] / best["hand"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="all", choices=("all", "cpu", "cuda"),
                        help="all = CPU, plus CUDA when available (default)")
    parser.add_argument("--rounds", type=int, default=200,
                        help="timed rounds per model/device (default 200; see --max-seconds)")
    parser.add_argument("--iters", type=int, default=None,
                        help="steps per timed block (default: calibrated to ~5 ms)")
    parser.add_argument("--max-seconds", type=float, default=20.0,
                        help="stop a model/device pair's rounds after this long (default 20)")
    args = parser.parse_args()

    devices = []
    if args.device in ("all", "cpu"):
        devices.append(torch.device("cpu"))
    if args.device == "cuda" or (args.device == "all" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            parser.error("--device cuda: CUDA is not available here")
        devices.append(torch.device("cuda"))

    print("Rosenblatt bench: compile_graph (torch.fx) vs hand-written nn.Module, forward+backward")
    for line in machine_lines(", ".join(str(d) for d in devices)):
        print(line)
    print(f"method  : up to {args.rounds} interleaved rounds (rotating order, after warm-up; "
          f"cap {args.max_seconds:g} s each); step = zero_grad + forward + cross_entropy + "
          "backward, train mode; ratio = median over rounds of that round's compiled/hand\n")

    results = []
    for device in devices:
        for case in CASES:
            start = time.perf_counter()
            results.append(run_case(case, device, args.rounds, args.iters, 0.005,
                                    args.max_seconds))
            print(f"  done {case.name} on {device} in {time.perf_counter() - start:.1f} s",
                  flush=True)

    batch = {c.name: c.batch for c in CASES}
    header = (f"{'model':<13} {'device':<6} {'batch':>5} {'iters':>5} {'rounds':>6} "
              f"{'compiled ms':>11} {'hand ms':>8} {'exported ms':>11} {'compiled/hand':>13} "
              f"{'95% CI':>11} {'IQR':>11} {'best/best':>9} {'compiled/exported':>17} "
              f"{'spread':>6} {'ok':>3}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        m = r.medians
        print(f"{r.case:<13} {r.device:<6} {batch[r.case]:>5} {r.iters:>5} {r.rounds:>6} "
              f"{m['compiled'] * 1e3:>11.3f} {m['hand'] * 1e3:>8.3f} {m['exported'] * 1e3:>11.3f} "
              f"{r.ratio:>13.3f} {f'{r.ci_low:.3f}-{r.ci_high:.3f}':>11} "
              f"{f'{r.ratio_q1:.2f}-{r.ratio_q3:.2f}':>11} "
              f"{r.best_ratio:>9.3f} {r.fx_ratio:>17.3f} {r.spread:>6.2f} "
              f"{'yes' if r.ratio <= TARGET_RATIO else 'NO':>3}")
    print("\nms = median per step; 95% CI = bootstrap interval of the median ratio; IQR = "
          "quartiles of the per-round ratios;\nbest/best = fastest compiled block / fastest "
          "hand block; compiled/exported = fx GraphModule vs generate_code's\nplain module "
          "(fx's own cost); spread = median / fastest hand block (1.0 = quiet machine)")

    noisy = [r for r in results if r.spread > 1.5]
    if noisy:
        print("\nWARNING: the machine was slowed (CPU throttling or other load) during "
              + ", ".join(f"{r.case} on {r.device}" for r in noisy)
              + "; rounds are paired so drift cancels in the ratio, but read it with the CI.")

    worst = max(results, key=lambda r: r.ratio)
    ok = worst.ratio <= TARGET_RATIO
    print(f"\nVERDICT: {'PASS' if ok else 'FAIL'} — worst median compiled/hand-written ratio "
          f"{worst.ratio:.3f} ({worst.case} on {worst.device}) vs target <= {TARGET_RATIO:.2f} "
          f"across {len(results)} model/device pairs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
