"""Drive the editor in a real X window (Xvfb) with xdotool, as a person would, and compare
screenshots (issue 13's checks).

Steps, each followed by a screenshot in OUT (default ``bench/out/xvfb``):

1. ``01_empty``: the app opened on an empty graph: the canvas shows its hint.
2. ``02_search``: Tab at a point of the canvas opens search-to-add; "Input" is typed.
3. ``03_added``: Enter placed it there; Escape, then a Linear added the same way further right.
4. ``04_wired``: a drag from the Input's output port to the Linear's input port connects them.
5. ``05_menu``: a right click on the Linear opens its context menu.
6. ``06_renamed``: Rename (the menu's first entry), "hidden" typed, Enter: the node is renamed.
7. ``07_undone``: Ctrl+Z: the id is back, and the canvas looks as it did before the rename.

Checks: every step changed the picture, the picture after undo matches the one before the
rename, and the file saved at the end (Ctrl+S) holds the Input, the Linear and their edge.
Exit status 0 when all hold.

Needs (Debian): ``apt-get install xvfb xauth xdotool imagemagick`` and the libxcb set the README
lists. Run from the repo root:  .venv/bin/python bench/xvfb_editor.py [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREEN = (1600, 1000)
DISPLAY = ":93"
#: card geometry at 100 % (widgets/canvas/geometry.py): ports sit half a card's width from its centre
HALF_WIDTH = 85


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=check, env=os.environ).stdout.strip()


def xdo(*args: object) -> str:
    return sh("xdotool", *(str(a) for a in args))


def shot(out: Path, name: str) -> Path:
    time.sleep(0.8)  # let the app repaint
    path = out / f"{name}.png"
    sh("import", "-window", "root", str(path))
    return path


def difference(a: Path, b: Path, box: tuple[int, int, int, int] | None = None) -> float:
    """The share of pixels that differ between two screenshots (within ``box``)."""
    from PIL import Image, ImageChops

    first, second = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    if box is not None:
        first, second = first.crop(box), second.crop(box)
    diff = ImageChops.difference(first, second).convert("L").point(lambda v: 255 if v > 24 else 0)
    return sum(diff.histogram()[255:]) / (first.width * first.height)


def start_app(graph_file: Path, log: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYQTGRAPH_QT_LIB="PySide6")
    app = subprocess.Popen([sys.executable, "-m", "app", "gui", str(graph_file)], cwd=ROOT, env=env,
                           stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(120):
        time.sleep(0.5)
        found = sh("xdotool", "search", "--onlyvisible", "--name", "Rosenblatt", check=False).split()
        if found:
            return app, found[-1]
        if app.poll() is not None:
            raise SystemExit(f"the app exited with {app.returncode}: see {log}")
    raise SystemExit("the app's window did not appear within 60 s")


def run(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rosenblatt-xvfb-"))
    graph_file = work / "sketch.json"
    graph_file.write_text(json.dumps({"format": "rosenblatt-graph", "version": 2, "name": "Sketch",
                                      "nodes": [], "edges": []}), encoding="utf-8")
    env_home = work / "home"
    os.environ.update(XDG_CONFIG_HOME=str(env_home / "config"), XDG_DATA_HOME=str(env_home / "data"),
                      ROSENBLATT_RECOVERY_DIR=str(env_home / "recovery"), DISPLAY=DISPLAY)
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"])
    time.sleep(1.5)
    app = None
    try:
        app, window = start_app(graph_file, out / "app.log")
        xdo("windowmove", window, 0, 0)
        xdo("windowsize", window, *SCREEN)
        time.sleep(1.5)
        sh("xdotool", "windowfocus", window, check=False)
        shots = [shot(out, "01_empty")]

        # the window fills the screen; the canvas lies between the docks, in its upper part
        w, h = SCREEN
        first = (int(w * 0.30), int(h * 0.28))
        second = (first[0] + 320, first[1])

        xdo("mousemove", *first)
        xdo("click", 1)  # the canvas takes the keyboard
        xdo("key", "Tab")
        time.sleep(0.5)
        xdo("type", "--delay", "60", "Input")
        shots.append(shot(out, "02_search"))
        xdo("key", "Return")
        time.sleep(0.5)
        xdo("key", "Escape")
        xdo("mousemove", first[0], first[1] + 250)
        xdo("click", 1)  # on empty canvas: nothing selected, so the next layer is not wired after it
        xdo("mousemove", *second)
        xdo("key", "Tab")
        time.sleep(0.5)
        xdo("type", "--delay", "60", "Linear")
        xdo("key", "Return")
        shots.append(shot(out, "03_added"))

        xdo("mousemove", first[0] + HALF_WIDTH, first[1])
        xdo("mousedown", 1)
        for step in range(1, 11):
            xdo("mousemove", first[0] + HALF_WIDTH + step * (second[0] - HALF_WIDTH - first[0] - HALF_WIDTH) // 10,
                first[1])
            time.sleep(0.03)
        xdo("mouseup", 1)
        shots.append(shot(out, "04_wired"))

        xdo("mousemove", second[0], second[1] + 12)
        xdo("click", 3)
        shots.append(shot(out, "05_menu"))
        before_rename = shots[-2]
        xdo("key", "Down")
        xdo("key", "Return")
        time.sleep(0.4)
        xdo("key", "ctrl+a")
        xdo("type", "--delay", "60", "hidden")
        xdo("key", "Return")
        shots.append(shot(out, "06_renamed"))
        xdo("key", "ctrl+z")
        shots.append(shot(out, "07_undone"))
        xdo("key", "ctrl+s")
        time.sleep(1.0)

        changes = [difference(a, b) for a, b in zip(shots, shots[1:])]
        # the canvas alone (the Inspector shows the selection, which the rename's undo clears)
        after_undo = difference(before_rename, shots[-1], (int(0.16 * w), 30, int(0.76 * w), int(0.6 * h)))
        saved = json.loads(graph_file.read_text(encoding="utf-8"))
        types = sorted(n["type"] for n in saved["nodes"])
        edges = [(e["source"], e["target"]) for e in saved["edges"]]
        print("step                 changed pixels vs the step before")
        for path, change in zip(shots[1:], changes):
            print(f"{path.stem:<20} {100 * change:6.2f} %")
        print(f"after undo vs before rename: {100 * after_undo:.2f} % of the canvas's pixels differ")
        print(f"saved: nodes {[(n['id'], n['type']) for n in saved['nodes']]}, edges {edges}")
        ok = (all(c > 0.0005 for c in changes) and after_undo < 0.01 and types == ["Input", "Linear"]
              and len(edges) == 1 and "hidden" not in {n["id"] for n in saved["nodes"]})
        print(f"\nVERDICT: {'PASS' if ok else 'FAIL'} — screenshots in {out}")
        return 0 if ok else 1
    finally:
        if app is not None and app.poll() is None:
            app.terminate()
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "xvfb"), help="folder for the screenshots")
    args = parser.parse_args()
    for tool in ("Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            print(f"xvfb_editor: {tool} is missing: apt-get install xvfb xauth xdotool imagemagick", file=sys.stderr)
            return 2
    return run(Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
