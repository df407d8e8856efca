"""How long the procedural shapes take to draw (graph_engine/data/shapes.py).

Target: 3,000 images of 32×32 (the shapes dataset) in under 2 s on a quiet 2-core machine (the
vectorised drawing took about 0.3 s on one). This used to be a test's wall-clock
assertion; the test now checks the vectorisation itself (one mask per class), and the time is
measured here, where a loaded machine gives a slow number rather than a failing suite.

Run from the repo root:
  .venv/bin/python bench/shapes_drawing.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

from graph_engine.data.shapes import draw_scenes, draw_shapes  # noqa: E402

TARGET_S = 2.0


def timed(function, *args, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("\n".join(machine_lines()))
    results = {
        "draw_shapes(3000, 32, 32)": timed(draw_shapes, 3000, 32, 32, repeats=args.repeats),
        "draw_scenes(3000, 32, 32)": timed(draw_scenes, 3000, 32, 32, repeats=args.repeats),
    }
    for name, times in results.items():
        print(f"{name:28s} median {statistics.median(times) * 1000:7.1f} ms   "
              f"min {min(times) * 1000:7.1f} ms   ({args.repeats} runs)")
    median = statistics.median(results["draw_shapes(3000, 32, 32)"])
    verdict = "meets" if median < TARGET_S else "MISSES"
    print(f"3,000 shapes: {median:.3f} s, {verdict} the target of {TARGET_S:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
