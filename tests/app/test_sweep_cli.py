"""rosenblatt sweep: a real grid, failures recorded, refusals, and two workers on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from graph_engine import load_template, save_graph
from graph_engine.experiments import study as studies
from graph_engine.experiments.records import read_trial
from graph_engine.experiments.spec import build_spec
from tests.postgres_server import ServerUnavailable, postgres_server
from tests.timing import deadline_s

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mlp_file(tmp_path):
    path = tmp_path / "mlp.json"
    save_graph(load_template("mlp"), path)
    return path


@pytest.mark.parametrize("args, message", [
    (["--vary", "nope.type=ReLU"], "no node 'nope' in 'MLP'"),
    (["--vary", "relu1.rate=1,2"], "relu1 (ReLU) has no param 'rate'"),
    (["--vary", "hidden1.type=ReLU,Linear"], "hidden1.type=ReLU: ReLU is a Activation layer"),
    (["--vary", "relu1.type=Tanh", "--storage", "postgresql://me:secret@127.0.0.1:1/none"],
     "storage postgresql://me:***@127.0.0.1:1/none cannot be reached"),
    (["--vary", "relu1.type=Tanh", "--storage", "notes.txt"], "storage 'notes.txt': give an RDB URL"),
    ([], "nothing to vary"),
])
def test_bad_sweeps_are_refused_in_one_line(capsys, tmp_path, mlp_file, args, message):
    assert main(["sweep", str(mlp_file), *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "secret" not in err


def test_a_worker_needs_a_study(capsys, tmp_path):
    url = studies.default_storage(tmp_path)
    assert main(["sweep", "--worker", "--storage", url, "--study", "none", "--wait", "0"]) == 2
    assert "no study named 'none'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_grid_runs_each_variant_in_parallel_and_records_a_refused_one_as_failed(capsys, tmp_path, mlp_file):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"vary": ["training.task=classification,regression"], "settings": {"epochs": 2}}))
    out = tmp_path / "study"
    status = main(["sweep", str(mlp_file), "--spec", str(spec), "--jobs", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    runs = sorted(p.name for p in (out / "runs").iterdir() if p.is_dir())
    assert runs == ["t000-task=classification"]  # the refused trial made no run folder
    good = read_trial(out / "runs" / runs[0])
    assert good["state"] == "complete" and 0.1 < good["objectives"]["val.accuracy"] <= 1
    assert good["values"] == {"training.task": "classification"} and good["params"] == 17226
    assert "trial 1 (t001-task=regression) failed: digits does not fit 'MLP'" in captured.err
    table = captured.out.splitlines()
    assert table[0].split() == ["trial", "state", "task", "val.accuracy:max", "run", "/", "reason"]
    assert table[2].startswith("0*") and "complete" in table[2]
    assert "failed" in table[3] and "needs numeric targets" in table[3]
    assert json.loads((out / "sweep.json").read_text())["vary"] == ["training.task=classification,regression"]


@pytest.fixture(scope="module")
def postgres_url():
    try:
        with postgres_server() as url:
            yield url
    except ServerUnavailable as reason:
        pytest.skip(f"no PostgreSQL server for the shared-study test: {reason}")


@pytest.mark.slow
def test_two_workers_share_a_postgresql_study_without_duplicate_trials(tmp_path, postgres_url):
    graph = load_template("mlp")
    spec = build_spec(graph, ["relu1.type=ReLU,Tanh,Sigmoid,GELU"], ["val.accuracy:max"],
                      settings={"epochs": 1}, prune=False)
    studies.create_or_join(studies.open_storage(postgres_url), "race", graph, spec)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "app.cli", "sweep", "--storage", postgres_url, "--worker",
                                 "--study", "race", "--jobs", "1", "--out", str(tmp_path / name)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    outputs = [w.communicate(timeout=deadline_s(400)) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = studies.join(studies.open_storage(postgres_url), "race")
    trials = study.get_trials(deepcopy=False)
    assert sorted(t.params["relu1.type"] for t in trials) == ["GELU", "ReLU", "Sigmoid", "Tanh"]
    assert all(t.state.name == "COMPLETE" for t in trials)
    folders = {name: sorted(p.name for p in (tmp_path / name / "runs").iterdir() if p.is_dir())
               for name in ("a", "b") if (tmp_path / name / "runs").is_dir()}
    ran = [run for runs in folders.values() for run in runs]
    assert len(ran) == 4 and len(set(ran)) == 4  # each trial ran once, in one worker
    assert len(folders) == 2 and all(folders.values()), folders  # both workers took trials


@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_its_trial_is_run_again(tmp_path, mlp_file):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "app.cli", "sweep"]
    first = subprocess.Popen([*command, str(mlp_file), "--vary", "relu1.type=ReLU,Tanh", "--epochs", "2", "--jobs", "1",
                              "--out", str(tmp_path), "--study", "kt"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_run = tmp_path / "runs" / "t000-relu1=ReLU"
    deadline = time.monotonic() + deadline_s(300)
    while not (killed_run / "trial.json").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = subprocess.run([*command, "--worker", "--storage", studies.default_storage(tmp_path), "--study", "kt",
                             "--jobs", "1", "--out", str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=deadline_s(600))
    assert second.returncode == 0, second.stderr
    assert read_trial(killed_run)["state"] == "failed"
    assert read_trial(killed_run)["reason"] == studies.STALE_REASON
    assert (killed_run / "metrics.jsonl").exists()  # what the killed trial recorded is still there
    study = studies.join(studies.open_storage(studies.default_storage(tmp_path)), "kt")
    states = sorted((t.params["relu1.type"], t.state.name) for t in study.get_trials(deepcopy=False))
    assert states == [("ReLU", "COMPLETE"), ("ReLU", "FAIL"), ("Tanh", "COMPLETE")]
    assert "its worker stopped sending heartbeats" in second.stdout
