"""Start-up of each ``rosenblatt`` command, before and after, with ``python -X importtime``.

Each command runs in a fresh interpreter as ``python -X importtime -c "from app.cli import
main; main(ARGV)"`` from two source trees: the worktree ("after") and a ref exported with
``git archive`` into a temporary folder ("before", default ``main``). Per run we record the
wall time of the whole process, the import time ``-X importtime`` reports (the sum of the
top-level entries' cumulative times) and whether torch was imported. Rounds alternate the
trees (before, after, after, before, ...) so load on the machine hits both alike; each
reported number is the median over rounds, and the ratio is the median of the per-round
after/before ratios of wall time.

Target (issue 18): ``rosenblatt summary`` start-up <= 0.5x today's.

The GUI's start to first picture is measured by ``bench/gui_startup.py``.

Run from the repo root:
  .venv/bin/python bench/startup.py [--before REF] [--rounds N] [--commands summary,layers,...]
"""

from __future__ import annotations

import argparse
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

TARGET = 0.5
#: name -> argv of the command (summary of the default template, validation included)
COMMANDS = {
    "summary": ["summary"],
    "summary-json": ["summary", "template:resnet_style", "--json"],
    "layers": ["layers"],
    "templates": ["templates"],
    "export-help": ["export", "--help"],
    "train-help": ["train", "--help"],
}
PROBE = ("import sys\nfrom app.cli import main\ntry:\n    code = main({argv!r})\nexcept SystemExit as stop:\n"
         "    code = stop.code\nprint('TORCH', 'torch' in sys.modules, file=sys.stderr)\n")


def export_tree(ref: str, into: Path) -> Path:
    """``git archive REF`` unpacked into ``into``: the code as it was at REF."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True)
    tree = into / "tree"
    tree.mkdir()
    with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_once(tree: Path, argv: list[str]) -> tuple[float, float, bool]:
    """(wall seconds, import seconds, torch imported) of one command in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE.format(argv=argv)],
                            cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    imports = 0
    torch_loaded = False
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if not name.startswith("  ") and cumulative.strip().isdigit():  # a top-level import
                imports += int(cumulative)
        elif line.startswith("TORCH "):
            torch_loaded = line.split()[1] == "True"
    return wall, imports / 1e6, torch_loaded


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load    : {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} logical cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref of 'before' (default main)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", default=",".join(COMMANDS), help="comma-separated: " + ", ".join(COMMANDS))
    args = parser.parse_args()
    names = [n for n in args.commands.split(",") if n]
    print(f"cpu     : {cpu_model()}")
    print(f"python  : {sys.version.split()[0]}")
    print(load_line())
    with tempfile.TemporaryDirectory(prefix="rosenblatt-startup-") as temp:
        trees = {"before": export_tree(args.before, Path(temp)), "after": ROOT}
        print(f"before  : git archive {args.before}; after: {ROOT}")
        print(f"\n{'command':13} {'before wall':>11} {'after wall':>10} {'ratio':>6}  "
              f"{'imports before':>14} {'after':>6}  torch before/after")
        results = {}
        for name in names:
            samples: dict[str, list[tuple[float, float, bool]]] = {"before": [], "after": []}
            ratios = []
            for round_index in range(args.rounds):
                order = ("before", "after") if round_index % 2 == 0 else ("after", "before")
                this = {which: run_once(trees[which], COMMANDS[name]) for which in order}
                for which, sample in this.items():
                    samples[which].append(sample)
                ratios.append(this["after"][0] / this["before"][0])
            wall = {w: statistics.median(s[0] for s in samples[w]) for w in samples}
            imports = {w: statistics.median(s[1] for s in samples[w]) for w in samples}
            torch_in = {w: any(s[2] for s in samples[w]) for w in samples}
            ratio = statistics.median(ratios)
            results[name] = ratio
            print(f"{name:13} {wall['before']:10.3f}s {wall['after']:9.3f}s {ratio:6.2f}  "
                  f"{imports['before']:13.3f}s {imports['after']:5.3f}s  "
                  f"{'yes' if torch_in['before'] else 'no'}/{'yes' if torch_in['after'] else 'no'}")
        print(load_line())
    if "summary" in results:
        ok = results["summary"] <= TARGET
        print(f"\ntarget: summary start-up after/before <= {TARGET}: {results['summary']:.2f} "
              f"({'met' if ok else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
