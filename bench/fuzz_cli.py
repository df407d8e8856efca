"""The fuzz suite's cases run against two code trees: the table for issue 17's closing note.

For each category (graph files, run folders, arguments, paths, datasets, import) it prints how
many cases were tried, and how many were clean (documented exit code, no traceback, a refusal in
one line on stderr, an end within the time limit, every command under a 4 GiB RLIMIT_AS) on the
code before the fixes (``--before``, a tree made with ``git archive <commit> | tar -x -C DIR``)
and on this tree; then each case that is not clean on this tree.

Run from the repo root:
    .venv/bin/python bench/fuzz_cli.py --before /tmp/before [--tier fast|slow] [--seed 17]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_lines  # noqa: E402

from tests.fuzz import suite  # noqa: E402
from tests.fuzz.run_folders import base_runs  # noqa: E402
from tests.fuzz.runner import ForkServer  # noqa: E402


def run_tree(code_root: Path, cases, scratch: Path) -> list[suite.Result]:
    with ForkServer(code_root) as server:
        return suite.run_all(server, cases, scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a tree of the code before the fixes")
    parser.add_argument("--tier", choices=("fast", "slow"), default="fast")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--skip", nargs="*", default=[], help="leave out cases whose command is one of these "
                                                               "(e.g. gui train) on a busy machine")
    args = parser.parse_args()
    print("\n".join(machine_lines()))
    print(f"load    : {os.getloadavg()[0]:.1f} (1 min average) on {os.cpu_count()} cores")
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-bench-"))
    bases = base_runs(scratch / "bases")
    cases = (suite.fast_cases if args.tier == "fast" else suite.slow_cases)(args.seed, bases)
    cases = [c for c in cases if c.argv[0] not in args.skip]
    trees = {"after": ROOT}
    if args.before:
        trees = {"before": args.before, "after": ROOT}
    results = {}
    for label, tree in trees.items():
        started = time.monotonic()
        results[label] = run_tree(tree, cases, scratch / label)
        print(f"{label}: {len(cases)} cases in {time.monotonic() - started:.0f} s ({tree})", flush=True)
    categories = list(dict.fromkeys(c.category for c in cases))
    clean = {label: collections.Counter(r.case.category for r in found if not r.problems)
             for label, found in results.items()}
    tried = collections.Counter(c.category for c in cases)
    print(f"\nseed {args.seed}, {args.tier} tier\n")
    print("| category | tried | clean before | clean after |")
    print("|---|---:|---:|---:|")
    for category in categories + ["all"]:
        count = sum(tried.values()) if category == "all" else tried[category]
        cells = [str(sum(clean[label].values()) if category == "all" else clean[label][category])
                 if label in clean else "-" for label in ("before", "after")]
        print(f"| {category} | {count} | {cells[0]} | {cells[1]} |")
    for label, found in results.items():
        bad = [r for r in found if r.problems]
        print(f"\nnot clean {label}: {len(bad)}")
        kinds = collections.Counter(p.split(":")[0].split(" (")[0] for r in bad for p in r.problems)
        for kind, count in kinds.most_common():
            print(f"  {count:4} × {kind}")
        if label == "after":
            for r in bad:
                print(f"  [{r.case.category}] {r.case.name} -> {'; '.join(r.problems)}")


if __name__ == "__main__":
    main()
