"""One edit on a 10,000-node graph through the real window (issue 18: under 50 ms).

For a residual network and a Linear/ReLU chain of about 10,000 nodes, opened in the real
``MainWindow`` (offscreen), it times what the GUI thread spends on one edit: the command on
the undo stack, the analysis, the canvas and the other views that listen, and the events
that follow (``processEvents``), median of several rounds. Each edit is timed twice in
alternating rounds:

- ``full``: every edit analyses the whole graph and the canvas relabels every item (the
  behaviour before re-analysis became incremental: ``app.document.reanalyze`` replaced by
  ``analyze``);
- ``incremental``: what the app does (``graph_engine.reanalysis``).

In both modes an undo that returns the graph to a state it was in lately takes that state's
analysis again (``graph_engine.analysis_memory``), as the app does: the "(undo)" rows of the two
modes then differ only where the undo makes new node objects (delete and bridge).

Run from the repo root:  .venv/bin/python bench/edit_at_scale.py [--nodes 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtWidgets import QApplication  # noqa: E402

from _machine import machine_lines  # noqa: E402
from canvas_scale import build_chain, build_residual  # noqa: E402

import app.document  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from graph_engine import analyze  # noqa: E402
from graph_engine.reanalysis import reanalyze  # noqa: E402

TARGET_MS = 50.0
#: what an edit's time is read from (``--cpu``: the GUI thread's CPU time)
CLOCK = time.perf_counter


def _full(previous, _touched):
    return analyze(previous.graph)


def _middle(graph, type_name: str) -> str:
    ids = [n.id for n in graph if n.type == type_name]
    return ids[len(ids) // 2]


def edits(window: MainWindow) -> dict:
    """Name -> a function doing one edit (the undo after it is not timed)."""
    graph, controller = window.document.graph, window.controller
    conv = _middle(graph, "Conv2d") if any(n.type == "Conv2d" for n in graph) else None
    linear = _middle(graph, "Linear")
    relu = _middle(graph, "ReLU")
    x, y = graph.node(relu).position

    def toggle_bias(node_id):
        return lambda: controller.edit_params(node_id, {"bias": not graph.node(node_id).params.get("bias", True)})

    def widen(node_id, name):
        return lambda: controller.edit_params(node_id, {name: graph.node(node_id).params[name] + 1})

    found = {"param, same shapes": toggle_bias(conv or linear),
             "param, new shape": widen(conv, "out_channels") if conv else widen(linear, "out_features"),
             "add a node": lambda: controller.add_layer("ReLU", position=(x + 30.0, y + 400.0)),
             "delete & bridge": lambda: controller.delete_and_bridge(relu)}
    return found


def time_edit(app: QApplication, window: MainWindow, edit, clock=time.perf_counter) -> tuple[float, float]:
    """GUI-thread seconds of one edit and of its undo (each with the events they queue), by
    ``clock``: wall time, or the GUI thread's own CPU time (``time.thread_time``), which
    other programs on a loaded machine do not inflate."""
    gc.collect()
    start = clock()
    edit()
    app.processEvents()
    done = clock() - start
    start = clock()
    window.document.undo_stack.undo()
    app.processEvents()
    return done, clock() - start


def measure(app: QApplication, graph, rounds: int) -> dict:
    window = MainWindow(graph, autosave=False)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    results: dict = {}
    for _ in range(rounds):
        for mode, function in (("full", _full), ("incremental", reanalyze)):
            app_document_reanalyze(function)
            for name, edit in edits(window).items():
                done, undone = time_edit(app, window, edit, CLOCK)
                results.setdefault((name, mode), []).append(done)
                results.setdefault((name + " (undo)", mode), []).append(undone)
    app_document_reanalyze(reanalyze)
    assert window.document.analysis.diagnostics == analyze(window.document.graph).diagnostics
    window.document.undo_stack.setClean()
    window.close()
    return {key: statistics.median(times) for key, times in results.items()}


def app_document_reanalyze(function) -> None:
    app.document.reanalyze = function


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu", action="store_true",
                        help="time the GUI thread's CPU (time.thread_time) instead of the wall clock: "
                             "what the window itself spends, not what other programs take from it")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.cpu else time.perf_counter
    qt = QApplication.instance() or QApplication([])
    print("Rosenblatt bench: one edit on a big graph, GUI-thread time (real MainWindow, offscreen)")
    for line in machine_lines(f"Qt platform {qt.platformName()}"):
        print(line)
    print(f"load    : {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min) at start")
    print(f"rounds  : {args.rounds}, full and incremental alternating; median; "
          f"{'GUI-thread CPU time' if args.cpu else 'wall-clock time'}\n")
    worst = 0.0
    header = f"{'graph':<9} {'nodes':>6} {'edit':<26} {'full ms':>9} {'incremental ms':>15} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    for name, maker in (("residual", build_residual), ("chain", build_chain)):
        graph = maker(args.nodes)
        result = measure(qt, graph, args.rounds)
        for edit in dict.fromkeys(key[0] for key in result):
            full, fast = result[(edit, "full")], result[(edit, "incremental")]
            worst = max(worst, fast)
            print(f"{name:<9} {len(graph):>6} {edit:<26} {full * 1e3:>9.1f} {fast * 1e3:>15.1f} "
                  f"{full / fast:>8.1f}×")
    print(f"\nload    : {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    ok = worst * 1e3 < TARGET_MS
    print(f"VERDICT: {'PASS' if ok else 'FAIL'} — the slowest edit took {worst * 1e3:.1f} ms of GUI-thread time "
          f"vs target < {TARGET_MS:.0f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
