"""Cost of top_patches over a whole dataset vs one plain forward pass over it.

Target: ``graph_engine.probes.top_patches`` for every channel of ``conv3`` of the
``digits_cnn`` template over scikit-learn's digits (1,797 images, (1, 8, 8) floats
/16), k = 9, batch 256, takes at most 1.5× one plain forward pass of the compiled
model over the same set in the same batch size (eval mode, no_grad).

Both contenders read the same tensor (on the model's device by default, or on the
host with --data host, batches then cross one at a time) and both end with the
device synchronised: top_patches copies its results to the host, the forward pass
waits with torch.cuda.synchronize(). Rounds run the contenders in rotating order,
with a third, informational one: the forward pass up to the node alone (the tap),
which top_patches must do anyway. Each timed block runs ``--iters`` calls; the
reported ratio is the median over rounds of that round's top_patches / forward
time. The first call (which also builds and caches the fx tap) is timed apart,
after one forward pass has warmed the kernels up.

Run from the repo root:
  .venv/bin/python bench/patches_overhead.py [--device auto|cpu|cuda] [--data device|host]
                                             [--rounds N] [--iters K] [--batch-size B]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from graph_engine import analyze, compile_graph, load_template, resolve_device  # noqa: E402
from graph_engine.probes import top_patches  # noqa: E402
from graph_engine.probes._common import tapped  # noqa: E402

TARGET_RATIO = 1.5
NODE = "conv3"
K = 9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], iters: int, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / iters


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", choices=("device", "host"), default="device")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--iters", type=int, default=0, help="calls per timed block (0: auto)")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    device = resolve_device(args.device)
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    if args.data == "device":
        x = x.to(device)
    graph = load_template("digits_cnn")
    analysis = analyze(graph)
    model = compile_graph(graph, device=device)
    batch = args.batch_size

    def forward() -> None:
        with torch.no_grad():
            for start in range(0, len(x), batch):
                model(x[start:start + batch].to(device, non_blocking=True))

    tap = tapped(model, [NODE])

    def tap_only() -> None:
        with torch.no_grad():
            for start in range(0, len(x), batch):
                tap(x[start:start + batch].to(device, non_blocking=True))

    def patches() -> object:
        return top_patches(model, graph, analysis, x, NODE, k=K, batch_size=batch)

    model.eval()
    forward()  # the first pass initialises kernels for these shapes; the tap is not built yet
    _sync(device)
    start = time.perf_counter()
    first = patches()
    _sync(device)
    first_s = time.perf_counter() - start

    # sanity: the best value of each channel is the channel's maximum over the whole set
    with torch.no_grad():
        full = torch.cat([tapped(model, [NODE])(x[s:s + batch].to(device))[NODE]
                          for s in range(0, len(x), batch)])
    peak = full.amax(dim=(0, 2, 3)).cpu().numpy()
    assert abs(first.values[:, 0] - peak).max() <= 1e-5 * max(1.0, abs(peak).max())

    for _ in range(3):  # warm-up
        forward(), patches()
    one = _timed(forward, 1, device)
    iters = args.iters or max(1, min(50, int(0.05 / max(one, 1e-6))))
    times: dict[str, list[float]] = {"forward": [], "top_patches": [], "tap": []}
    ratios = []
    contenders = [("forward", forward), ("top_patches", patches), ("tap", tap_only)]
    for round_index in range(args.rounds):
        shift = round_index % len(contenders)
        order = contenders[shift:] + contenders[:shift]
        this = {name: _timed(fn, iters, device) for name, fn in order}
        for name, value in this.items():
            times[name].append(value)
        ratios.append(this["top_patches"] / this["forward"])

    ratio = statistics.median(ratios)
    for line in machine_lines(str(device)):
        print(line)
    print(f"data    : digits {tuple(x.shape)} float32 on {args.data} ({x.device}), "
          f"batch {batch}, node {NODE} {analysis.info(NODE).out_shape}, k {K}")
    print(f"rounds  : {args.rounds} × {iters} calls per contender (median per call)")
    ms = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    low, _, high = statistics.quantiles(ratios, n=4)
    print(f"forward over the set (eval, no_grad) : {ms['forward']:9.3f} ms")
    print(f"top_patches over the set            : {ms['top_patches']:9.3f} ms"
          f"   (first call, tap built: {first_s * 1e3:.1f} ms)")
    print(f"  of which the forward to {NODE} alone  : {ms['tap']:9.3f} ms")
    print(f"ratio top_patches / forward (median of rounds) : {ratio:.3f}   "
          f"(quartiles {low:.3f}–{high:.3f})")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"{verdict}: target ≤ {TARGET_RATIO}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
