"""Training inside the GUI: the event loop's largest stall, and steps/s against headless training.

Trains a template (by default the digits CNN on digits) in the app's own training child
process, with the main window shown offscreen and the Curves panel in front, while a
QTimer (5 ms by default, ``--tick-ms``) records the gaps between its ticks: the largest gap
minus the interval is the longest the window could not answer. ``--stall-only`` skips the
headless runs (the rate ratio) and reports the stalls alone, with the 99th percentile.
(The probe timer itself costs the training process a little: every wake-up of the GUI preempts one of the two torch threads on this
2-core VM. At 10 ms ticks the measured rate ratio drops by about 0.04.) Targets (issue 5): no stall over 50 ms,
and a training rate at least 0.9× that of ``rosenblatt train`` (headless, same
settings). Rates are steps per second of the trainer's own clock (first to last step
record of metrics.jsonl), so process start-up and data loading count in neither.
Rounds alternate GUI and headless runs, because this 2-core VM throttles under load.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_training.py [--epochs 30] [--rounds 3]
        [--template resnet_style] [--tick-ms 5] [--stall-only]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import machine_lines  # noqa: E402

TICK_MS = 5


def rate_of(run_dir: Path) -> float:
    from graph_engine.training.runs import read_metrics

    steps = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["type"] == "step"]
    first, last = steps[0], steps[-1]
    return (last["step"] - first["step"]) / (last["time"] - first["time"])


def headless_round(epochs: int, root: Path, index: int) -> float:
    run_dir = root / f"headless-{index}"
    subprocess.run([sys.executable, "-m", "app", "train", "--epochs", str(epochs), "--out", str(run_dir)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return rate_of(run_dir)


def gui_round(app, epochs: int, root: Path, index: int, panel: str = "curves", template: str | None = None,
              tick_ms: int = TICK_MS) -> tuple[float, list[float]]:
    """The GUI run's steps/s and the event loop's gaps (ms beyond the tick) while it trained."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.gui import settle_memory
    from app.main_window import MainWindow
    from graph_engine import load_template

    os.environ["ROSENBLATT_RUNS_DIR"] = str(root / f"gui-{index}")
    window = MainWindow(load_template(template) if template else None, autosave=False)
    settle_memory()  # as rosenblatt gui does once its window is built
    window.resize(1600, 1000)
    window.show()
    window.workspace.docks[panel].raise_()
    app.processEvents()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        history = window.training.history
        if history is not None and history.status == "running" and len(history.steps):
            gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(tick_ms)
    timer.timeout.connect(tick)
    timer.start()
    loop = QEventLoop()  # the app's own way of waiting: no polling
    window.training.run_ended.connect(lambda _history: loop.quit())
    assert window.training.start({"epochs": epochs})
    loop.exec()
    timer.stop()
    history = window.training.history
    assert history.status == "finished", history.message
    rate = rate_of(history.run_dir)
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()
    return rate, [gap * 1000 - tick_ms for gap in gaps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--panel", default="curves", help="the dock in front while training")
    parser.add_argument("--template", default=None, help="train this template (default: the app's default)")
    parser.add_argument("--tick-ms", type=int, default=TICK_MS, help="the probe timer's interval")
    parser.add_argument("--stall-only", action="store_true", help="no headless runs: stalls only")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    print("\n".join(machine_lines()))
    print("load    : load average {:.2f} {:.2f} {:.2f} (at the start)".format(*os.getloadavg()))
    print(f"{args.template or 'default template'}, {args.epochs} epochs per run, GUI ({args.panel} in front)"
          + ("" if args.stall_only else " and headless runs alternating") + f", {args.tick_ms} ms timer")
    print(f"{'round':>5} {'headless steps/s':>17} {'GUI steps/s':>12} {'ratio':>6} {'largest stall':>14} "
          f"{'p99 gap':>8}")
    ratios, stalls = [], []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for index in range(args.rounds):
            headless = math.nan if args.stall_only else headless_round(args.epochs, root, index)
            gui, gaps = gui_round(app, args.epochs, root, index, args.panel, args.template, args.tick_ms)
            ratios.append(gui / headless)
            stalls.append(max(gaps))
            p99 = statistics.quantiles(gaps, n=100)[98] if len(gaps) > 1 else max(gaps)
            print(f"{index + 1:>5} {headless:>17.1f} {gui:>12.1f} {gui / headless:>6.3f} "
                  f"{max(gaps):>11.1f} ms {p99:>5.1f} ms  ({len(gaps)} ticks, load {os.getloadavg()[0]:.2f})")
    ratio = "n/a" if args.stall_only else f"{statistics.median(ratios):.3f}"
    print(f"median ratio GUI/headless {ratio} (target ≥ 0.9); "
          f"largest stall over all rounds {max(stalls):.1f} ms (target ≤ 50 ms)")


if __name__ == "__main__":
    main()
