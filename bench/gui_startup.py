"""The editor's start to first picture, against a bare window importing the same libraries.

Each contender runs in a fresh interpreter (offscreen Qt) and reports when its window's first
paint event arrives; start is taken in the parent just before the child is spawned, so the
interpreter's own start is included for both.

- app: ``MainWindow()`` on the default template, shown;
- bare: imports the third-party packages the app had loaded at its first picture (the app's
  child lists them), then a ``QMainWindow`` with one label, shown.

Both run from two source trees: "before" (a git ref exported with ``git archive``, default
``main``) and "after" (this worktree), in alternating rounds (the order rotates each round so
load on the machine hits all alike). Reported: the medians of each, app/bare per tree (issue
18 measured 1.43× before), and after/before of the app's own time.

Run from the repo root:
  .venv/bin/python bench/gui_startup.py [--before REF] [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402

FIRST_PAINT = r'''
import json, os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            painted = time.time()
            roots = sorted({m.split(".")[0] for m in sys.modules if not m.startswith("_")}
                           - set(sys.stdlib_module_names) - {"app", "graph_engine", "widgets", "resources"})
            print(json.dumps({"painted": painted, "packages": roots}), flush=True)
            os._exit(0)
        return False
'''

APP = FIRST_PAINT + r'''
app = QApplication([sys.argv[0]])
from app.main_window import MainWindow
window = MainWindow(None, None, autosave=False)
spy = FirstPaint()
window.installEventFilter(spy)
window.resize(1400, 900)
window.show()
app.exec()
'''

BARE = FIRST_PAINT + r'''
import importlib
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
from PySide6.QtWidgets import QLabel, QMainWindow
app = QApplication([sys.argv[0]])
window = QMainWindow()
window.setCentralWidget(QLabel("bare"))
spy = FirstPaint()
window.installEventFilter(spy)
window.resize(1400, 900)
window.show()
app.exec()
'''


def export_tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True)
    tree = into / "tree"
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def first_picture(tree: Path, script: str, *argv: str) -> tuple[float, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen", PYQTGRAPH_QT_LIB="PySide6")
    start = time.time()
    result = subprocess.run([sys.executable, "-c", script, *argv], cwd=tree, env=env, capture_output=True,
                            text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"no first paint in {tree}:\n{result.stderr[-3000:]}")
    report = json.loads(lines[-1])
    return report["painted"] - start, report["packages"]


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load    : {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} logical cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"cpu     : {cpu_model()}")
    print(load_line())
    with tempfile.TemporaryDirectory(prefix="rosenblatt-gui-startup-") as temp:
        trees = {"before": export_tree(args.before, Path(temp)), "after": ROOT}
        packages = {which: first_picture(tree, APP)[1] for which, tree in trees.items()}  # also warms the disk
        for which in trees:
            print(f"{which:7} : packages loaded at the first picture: {', '.join(packages[which])}")
        runs = [(which, kind) for which in trees for kind in ("app", "bare")]
        times: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
        for round_index in range(args.rounds):
            shift = round_index % len(runs)
            for which, kind in runs[shift:] + runs[:shift]:
                script, extra = (APP, ()) if kind == "app" else (BARE, (json.dumps(packages[which]),))
                times[(which, kind)].append(first_picture(trees[which], script, *extra)[0])
    median = {run: statistics.median(values) for run, values in times.items()}
    print(f"\n{'tree':7} {'app':>8} {'bare':>8} {'app/bare':>9}")
    for which in trees:
        app, bare = median[(which, "app")], median[(which, "bare")]
        print(f"{which:7} {app:7.2f}s {bare:7.2f}s {app / bare:9.2f}")
    print(f"app after/before: {median[('after', 'app')] / median[('before', 'app')]:.2f}")
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
