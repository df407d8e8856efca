"""How graph_engine.analyze scales with graph size (target: 1,000 nodes in under 50 ms).

Builds stacks of residual blocks

    Conv2d 3x3 -> BatchNorm2d -> ReLU -> Conv2d 3x3 -> BatchNorm2d -> Add(block input) -> ReLU

behind an Input (3x16x16) and a stem Conv2d/BatchNorm2d/ReLU, ending in
AdaptiveAvgPool2d(1) -> Flatten -> Linear -> Output, at about 100 ... 2,000 nodes.
For each size it times ``analyze(graph)`` (validation plus shape/param/MAC/
receptive-field inference) as the median of several runs, asserts the graph has
no errors, and prints µs per node relative to the smallest graph (linear growth
keeps that ratio near 1). It also times a single-node edit (``set_params`` on one
conv, then ``analyze``) on the 1,000-node graph: the editor's per-keystroke cost.

Run from the repo root:  .venv/bin/python bench/validation_scaling.py [--reps N]
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

import graph_engine  # noqa: E402
from graph_engine import Graph  # noqa: E402

TARGET_NODES = 1000
TARGET_MS = 50.0
SIZES = (100, 250, 500, 1000, 2000)
CHANNELS = 8
INPUT_SHAPE = [3, 16, 16]
FIXED_NODES = 8    # Input, stem conv/bn/relu; gap, flatten, linear, Output
BLOCK_NODES = 7


def _conv(graph: Graph, node_id: str, source: str, channels: int = CHANNELS) -> str:
    graph.create_node("Conv2d", {"out_channels": channels, "kernel_size": 3, "stride": 1,
                                 "padding": 1, "bias": False}, node_id=node_id)
    graph.connect(source, node_id)
    return node_id


def _layer(graph: Graph, type_name: str, node_id: str, source: str, params=None) -> str:
    graph.create_node(type_name, params or {}, node_id=node_id)
    graph.connect(source, node_id)
    return node_id


def build_resnet(target_nodes: int) -> tuple[Graph, int]:
    """A residual stack of about ``target_nodes`` nodes; returns it and its block count."""
    blocks = max(1, round((target_nodes - FIXED_NODES) / BLOCK_NODES))
    graph = Graph(f"resnet_{blocks}_blocks")
    graph.create_node("Input", {"shape": INPUT_SHAPE, "dtype": "float32"}, node_id="image")
    x = _conv(graph, "stem", "image")
    x = _layer(graph, "BatchNorm2d", "stem_bn", x)
    x = _layer(graph, "ReLU", "stem_relu", x)
    for b in range(blocks):
        skip = x
        y = _conv(graph, f"b{b}_conv1", x)
        y = _layer(graph, "BatchNorm2d", f"b{b}_bn1", y)
        y = _layer(graph, "ReLU", f"b{b}_relu1", y)
        y = _conv(graph, f"b{b}_conv2", y)
        y = _layer(graph, "BatchNorm2d", f"b{b}_bn2", y)
        y = _layer(graph, "Add", f"b{b}_add", y)
        graph.connect(skip, y, port=1)
        x = _layer(graph, "ReLU", f"b{b}_relu2", y)
    x = _layer(graph, "AdaptiveAvgPool2d", "gap", x, {"output_size": 1})
    x = _layer(graph, "Flatten", "flatten", x)
    x = _layer(graph, "Linear", "fc", x, {"out_features": 10})
    _layer(graph, "Output", "scores", x)
    return graph, blocks


def check(analysis: graph_engine.Analysis, graph: Graph) -> None:
    """Fail loudly if the benchmark graph is not a clean, fully inferred network."""
    assert analysis.ok, f"{graph.name}: unexpected errors: {analysis.errors[:3]}"
    assert len(analysis.nodes) == len(graph), (
        f"{graph.name}: shapes inferred for {len(analysis.nodes)} of {len(graph)} nodes")
    assert analysis.info("scores").out_shape == (10,), analysis.info("scores")


def time_analyze(graphs: list[Graph], reps: int) -> list[list[float]]:
    """Seconds of ``analyze`` per graph and rep, the sizes interleaved round-robin.

    Interleaving means a slow spell of the machine (CPU throttling, other load) hits
    every size alike instead of skewing the growth ratio.
    """
    for graph in graphs:        # warm-up, and check every graph is clean
        check(graph_engine.analyze(graph), graph)
    times: list[list[float]] = [[] for _ in graphs]
    for _ in range(reps):
        for i, graph in enumerate(graphs):
            gc.collect()
            start = time.perf_counter()
            graph_engine.analyze(graph)
            times[i].append(time.perf_counter() - start)
    return times


def time_edit(graph: Graph, node_id: str, reps: int) -> tuple[float, float]:
    """Median seconds of (set_params on ``node_id`` + analyze), and of set_params alone.

    Each edit really changes the node: it toggles the conv between 3x3/pad 1 and
    5x5/pad 2 (both keep the shape, so the graph stays valid).
    """
    variants = ({"kernel_size": 5, "padding": 2}, {"kernel_size": 3, "padding": 1})
    edit_times, set_times = [], []
    for i in range(reps + 1):
        gc.collect()
        start = time.perf_counter()
        graph.set_params(node_id, variants[i % 2])
        mid = time.perf_counter()
        analysis = graph_engine.analyze(graph)
        end = time.perf_counter()
        if i == 0:          # warm-up, and check the edit took
            check(analysis, graph)
            assert graph.node(node_id).params["kernel_size"] == 5
            continue
        edit_times.append(end - start)
        set_times.append(mid - start)
    check(graph_engine.analyze(graph), graph)
    return statistics.median(edit_times), statistics.median(set_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="timed runs per size (default 9)")
    args = parser.parse_args()

    print("Rosenblatt bench: analyze() scaling on stacked residual blocks")
    for line in machine_lines("cpu (pure-Python analysis; no tensors)"):
        print(line)
    print(f"graph   : Input {INPUT_SHAPE} -> stem -> N x residual block ({CHANNELS} ch, "
          f"7 nodes) -> gap/flatten/linear/Output; {args.reps} timed reps, median\n")

    header = (f"{'nodes':>6} {'edges':>6} {'blocks':>6} {'build ms':>9} {'median ms':>10} "
              f"{'min ms':>8} {'µs/node':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    built = []
    for size in SIZES:
        start = time.perf_counter()
        graph, blocks = build_resnet(size)
        built.append((graph, blocks, time.perf_counter() - start))
    samples = time_analyze([g for g, _, _ in built], args.reps)

    rows = []
    base_per_node = None
    graphs = {}
    for size, (graph, blocks, build), times in zip(SIZES, built, samples):
        median, best = statistics.median(times), min(times)
        per_node = median / len(graph) * 1e6
        base_per_node = base_per_node or per_node
        rows.append((len(graph), median, best))
        graphs[size] = graph
        print(f"{len(graph):>6} {len(graph.edges):>6} {blocks:>6} {build * 1e3:>9.1f} "
              f"{median * 1e3:>10.2f} {best * 1e3:>8.2f} {per_node:>8.1f} "
              f"{per_node / base_per_node:>6.2f}")

    (b0, *_), (b1, *_) = built[0], built[-1]
    build_slope = math.log(built[-1][2] / built[0][2]) / math.log(len(b1) / len(b0))
    print(f"(build ms = create_node + connect for the whole graph, outside the target; "
          f"its growth exponent is {build_slope:.2f})")

    big = graphs[TARGET_NODES]
    conv = f"b{(len(big) - FIXED_NODES) // BLOCK_NODES // 2}_conv1"
    edit, set_only = time_edit(big, conv, args.reps)
    print(f"\nsingle edit on the {len(big)}-node graph (set_params({conv!r}) + analyze): "
          f"median {edit * 1e3:.2f} ms  (set_params alone {set_only * 1e6:.0f} µs)")

    # Log-log slope between the smallest and largest graphs: 1.0 is linear.
    (n0, t0, _), (n1, t1, _) = rows[0], rows[-1]
    slope = math.log(t1 / t0) / math.log(n1 / n0)
    print(f"growth exponent (log-log, {n0} -> {n1} nodes): {slope:.2f}  (1.00 = linear)")

    n_target, at_target, _ = next(r for r in rows if abs(r[0] - TARGET_NODES) <= BLOCK_NODES)
    noisy = [n for n, median, best in rows if median > 1.3 * best]
    if noisy:
        print(f"WARNING: median > 1.3x min for {noisy} nodes: the machine was slowed during the "
              "run (CPU throttling or other load); compare the min column too")
    ok = at_target * 1e3 < TARGET_MS and edit * 1e3 < TARGET_MS
    verdict = "PASS" if ok else "FAIL"
    print(f"\nVERDICT: {verdict} — analyze() on {n_target} nodes takes {at_target * 1e3:.1f} ms "
          f"(edit+re-analyze {edit * 1e3:.1f} ms) vs target < {TARGET_MS:.0f} ms; "
          f"growth exponent {slope:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
