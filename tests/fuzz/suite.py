"""The fuzz suite's cases by category for a seed, and running them through a fork server."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.fuzz import cases as c
from tests.fuzz.runner import ForkServer

#: (cases per category) in the fast tier and in the slow one
FAST = {"graph files": 40, "run folders": 24, "arguments": 16}
SLOW = {"graph files": 400, "run folders": 0, "arguments": 120}
FAST_GRAPH_COMMANDS = ("summary", "summary-json", "export")
SLOW_GRAPH_COMMANDS = ("summary", "summary-json", "export", "export-training", "torchscript", "onnx", "train", "gui")
FAST_RUN_COMMANDS = ("patches", "export", "resume", "sample")
#: damages every command refuses (no case of the fast tier trains)
FAST_DAMAGES = sorted(set(c.run_folders.DAMAGES) - {"none", "metrics.jsonl missing", "metrics.jsonl invalid UTF-8",
                                                    "metrics.jsonl lines not objects", "dataset.json missing",
                                                    "dataset.json a list", "dataset.json vocabulary a number",
                                                    "dataset.json sample_shape text", "graph.json of another graph",
                                                    "metadata only in a missing .json", "checkpoint is a folder",
                                                    "metadata optimizer groups wrong", "random state missing",
                                                    "random state of another size"})
SLOW_RUN_COMMANDS = ("patches", "export", "resume", "sample", "sample-beam", "onnx")


def fast_cases(seed: int, bases: dict[str, Path]) -> list[c.Case]:
    rng = random.Random(seed)
    return (c.graph_cases(rng, FAST["graph files"], FAST_GRAPH_COMMANDS, cheap=True)
            + c.run_cases(rng, FAST["run folders"], bases, FAST_RUN_COMMANDS, FAST_DAMAGES)
            + c.argument_cases(rng, FAST["arguments"], bases)
            + c.path_cases())


def slow_cases(seed: int, bases: dict[str, Path]) -> list[c.Case]:
    """Every damage with every command reading a run, and many more drawn cases."""
    rng = random.Random(seed)
    damages = len(c.run_folders.DAMAGES) * len(SLOW_RUN_COMMANDS)
    return (c.graph_cases(rng, SLOW["graph files"], SLOW_GRAPH_COMMANDS)
            + c.run_cases(rng, damages, bases, SLOW_RUN_COMMANDS)
            + c.argument_cases(rng, SLOW["arguments"], bases)
            + c.path_cases() + c.dataset_cases() + c.import_cases())


@dataclass(frozen=True)
class Result:
    case: c.Case
    problems: tuple[str, ...]
    rc: int
    seconds: float
    last_line: str


def run_all(server: ForkServer, cases: list[c.Case], root: Path, slowdown: float = 1.0) -> list[Result]:
    """Each case in a fresh folder under ``root`` (removed after), checked by ``cases.problems``."""
    results = []
    for index, case in enumerate(cases):
        folder = root / f"case{index}"
        folder.mkdir(parents=True)
        try:
            case.prepare(folder)
            timeout = case.timeout * slowdown
            outcome = server.run(list(case.argv), folder, timeout)
            found = c.problems(case, outcome.rc, outcome.stdout, outcome.stderr, outcome.killed, timeout)
            lines = c.message_lines(outcome.stderr)
            results.append(Result(case, tuple(found), outcome.rc, outcome.seconds, lines[-1] if lines else ""))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def report(results: list[Result], seed: int) -> str:
    bad = [r for r in results if r.problems]
    return "\n".join([f"{len(bad)} of {len(results)} cases broke the CLI's rules (seed {seed}):",
                      *(f"  [{r.case.category}] {r.case.name} -> {'; '.join(r.problems)}" for r in bad)])
