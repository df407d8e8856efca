"""How the curves panel (widgets/curves) scales with the length of a run: 10^4 … 10^6 steps.

For a synthetic classification run of N steps (10 epochs, a noisy decaying loss, a cosine
learning rate), fed through ``RunHistory.apply`` like the trainer's events, it times
(median of ``--reps`` runs, panel 900×600, offscreen):

- first draw:   ``set_history(history)`` of the whole run (copy, EMA, setData)
- idle refresh: ``refresh()`` when the history's version has not moved (the 4 Hz timer's
                usual case)
- refresh:      ``refresh()`` after 1,000 more steps were applied (incremental EMA and
                setData of views)
- frame:        ``grab()`` of the panel right after that refresh (pyqtgraph clips and
                peak-downsamples the new data, then paints)
- repaint:      ``grab()`` again with nothing changed
- smoothing:    moving the EMA slider (the whole loss smoothed again, every curve redrawn)

Run from the repo root:  .venv/bin/python bench/curves_scale.py [--reps N] [--sizes ...]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from _machine import machine_lines  # noqa: E402

from graph_engine.training.history import RunHistory  # noqa: E402
from widgets.curves_panel import CurvesPanel  # noqa: E402

EPOCHS = 10
APPEND = 1000
SIZE = (900, 600)


class SyntheticRun:
    """Trainer-shaped events of a run that is ``total`` steps long when finished."""

    def __init__(self, total: int, seed: int = 0):
        self.total = total
        self.per_epoch = max(1, total // EPOCHS)
        self.step = 0
        self.rng = np.random.default_rng(seed)
        self.history = RunHistory()
        self.history.apply({"type": "started", "run_dir": "/tmp/synthetic", "task": "classification",
                            "dataset": "synthetic", "device": "cpu", "steps_per_epoch": self.per_epoch,
                            "total_steps": total + 100 * APPEND})

    def advance(self, count: int) -> None:
        """Apply ``count`` more step events (and an epoch event at each epoch's end)."""
        start = self.step
        steps = np.arange(start + 1, start + count + 1, dtype=np.float64)
        progress = steps / self.total
        loss = 2.3 * np.exp(-6 * progress) + 0.05 + 0.15 * self.rng.random(count) * np.exp(-2 * progress)
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * np.minimum(progress, 1.0)))
        apply = self.history.apply
        for step, value, rate in zip(steps.tolist(), loss.tolist(), lr.tolist()):
            epoch = int(step - 1) // self.per_epoch + 1
            apply({"type": "step", "step": int(step), "epoch": epoch, "loss": value, "lr": rate,
                   "time": step * 0.004})
            if step % self.per_epoch == 0:
                val = 2.3 * math.exp(-6 * step / self.total) + 0.08
                apply({"type": "epoch", "step": int(step), "epoch": epoch, "time": step * 0.004 + 0.5,
                       "lr": rate, "best": True,
                       "val": {"loss": val, "accuracy": 1 - val / 2.5}})
        self.step += count


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def measure(app: QApplication, size: int, reps: int) -> dict[str, float]:
    run = SyntheticRun(size)
    run.advance(size)
    panel = CurvesPanel()
    panel.resize(*SIZE)
    panel.show()
    app.processEvents()
    started = time.perf_counter()
    panel.set_history(run.history)
    first = time.perf_counter() - started
    panel.grab()
    idle, refresh, frame, repaint, smoothing = [], [], [], [], []
    for rep in range(reps):
        started = time.perf_counter()
        panel.refresh()
        idle.append(time.perf_counter() - started)
        run.advance(APPEND)
        started = time.perf_counter()
        panel.refresh()
        refresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        panel.grab()
        frame.append(time.perf_counter() - started)
        started = time.perf_counter()
        panel.grab()
        repaint.append(time.perf_counter() - started)
    for rep in range(max(3, reps // 4)):
        started = time.perf_counter()
        panel.set_smoothing(0.9 + 0.01 * ((rep % 5) + 1))
        smoothing.append(time.perf_counter() - started)
    shown = len(panel.raw_curve.getOriginalDataset()[0])
    assert shown == size + reps * APPEND, shown  # every appended step reached the curve
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"first": 1000 * first, "idle": median_ms(idle), "refresh": median_ms(refresh),
            "frame": median_ms(frame), "repaint": median_ms(repaint), "smoothing": median_ms(smoothing)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    for line in machine_lines():
        print(line)
    print(f"load    : {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
    print(f"panel {SIZE[0]}×{SIZE[1]}, +{APPEND} steps per refresh, median of {args.reps} "
          f"(smoothing: of {max(3, args.reps // 4)}), times in ms\n")
    header = f"{'steps':>10} {'first draw':>11} {'idle refresh':>13} {'refresh':>9} {'frame':>8} " \
             f"{'repaint':>8} {'smoothing':>10}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        r = measure(app, size, args.reps)
        print(f"{size:>10,} {r['first']:>11.1f} {r['idle']:>13.4f} {r['refresh']:>9.1f} "
              f"{r['frame']:>8.1f} {r['repaint']:>8.1f} {r['smoothing']:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
