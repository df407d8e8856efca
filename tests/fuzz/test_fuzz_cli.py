"""The seeded fuzz suite (issue 17): every ``rosenblatt`` command fed hostile graph files, damaged
run folders, hostile numbers, paths, datasets and modules, each in a child process with its
address space capped (RLIMIT_AS), checked for the documented exit code, no traceback, a refusal
in one line on stderr and an end within a (machine-scaled) time limit.

The fast tier draws a subset (seed 17); ``slow`` draws hundreds more and crosses every damage with
every command that reads a run. A failure names its seed and case; ``FUZZ_SEED=N`` draws others.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz import suite
from tests.fuzz.run_folders import base_runs
from tests.fuzz.runner import ForkServer
from tests.timing import slowdown

SEED = int(os.environ.get("FUZZ_SEED", "17"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    with ForkServer(ROOT) as running:
        yield running


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return base_runs(tmp_path_factory.mktemp("fuzz-bases"))


def test_fast_subset_keeps_the_cli_rules(server, bases, tmp_path):
    cases = suite.fast_cases(SEED, bases)
    assert {case.argv[0] for case in cases} >= {"summary", "export", "train", "patches", "sample", "gui", "import"}
    results = suite.run_all(server, cases, tmp_path, slowdown())
    assert not [r for r in results if r.problems], suite.report(results, SEED)


@pytest.mark.slow
def test_slow_set_keeps_the_cli_rules(server, bases, tmp_path):
    results = suite.run_all(server, suite.slow_cases(SEED, bases), tmp_path, slowdown())
    assert not [r for r in results if r.problems], suite.report(results, SEED)
