"""What a hostile graph file costs the engine: many cycles, and a port number far past any real one.

Issue 17 measured 1,000 → 8,000 two-node cycles going 0.3 s → 13.5 s (quadratic), and an edge
``port`` of 10⁷ making validation emit ten million lines. Now cycles are found in one pass over
the strongly connected components (the first few named, the rest counted) and ports above 4095
are refused at load. This prints ``analyze`` time for 1,000 ... 20,000 two-node cycles (and the
growth per cycle, which stays flat when the pass is linear), and the load of a file with
``port`` 10⁷.

Run from the repo root:  .venv/bin/python bench/hostile_scaling.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

from graph_engine import Graph, GraphFileError, analyze, loads  # noqa: E402

SIZES = (1000, 2000, 4000, 8000, 20000)


def cycles_graph(count: int) -> Graph:
    """An Input → Output line plus ``count`` pairs of ReLUs feeding each other."""
    graph = Graph("cycles")
    graph.create_node("Input", {"shape": [4]}, node_id="x")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "y")
    for i in range(count):
        graph.create_node("ReLU", node_id=f"a{i}")
        graph.create_node("ReLU", node_id=f"b{i}")
        graph.connect(f"a{i}", f"b{i}")
        graph.connect(f"b{i}", f"a{i}")
    return graph


def timed(work, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    print("Rosenblatt bench: hostile graphs (cycles, huge port numbers)")
    for line in machine_lines():
        print(line)
    print(f"\n{'cycles':>7} {'analyze s':>10} {'µs per cycle':>13} {'diagnostics':>12}")
    for count in SIZES:
        graph = cycles_graph(count)
        seconds = timed(lambda g=graph: analyze(g))
        found = len(analyze(graph).diagnostics)
        print(f"{count:>7} {seconds:>10.3f} {seconds / count * 1e6:>13.1f} {found:>12}")
    text = json.dumps({"format": "rosenblatt-graph", "version": 2, "nodes": [
        {"id": "x", "type": "Input"}, {"id": "add", "type": "Add"}, {"id": "y", "type": "Output"}],
        "edges": [{"source": "x", "target": "add", "port": 10_000_000}, {"source": "add", "target": "y"}]})
    start = time.perf_counter()
    try:
        loads(text, "port.json")
        outcome = "loaded (!)"
    except GraphFileError as error:
        outcome = f"refused: {error}"
    print(f"\nport 10^7: {time.perf_counter() - start:.4f} s, {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
