"""Issue 17, item 13: a run stopped before its first checkpoint starts again in its folder; an
invalid settings.json is refused and left as it is; NaN weights and ``--temperature nan`` are
refused in one line; a killed write's temporary is removed when the run is resumed. And what the
fuzz suite found: a graph "file" that never ends, a path with a line break, argparse's two-line
refusals, bounds on ``patches -k`` and ``gui --train-epochs``, a memory cap the estimate ignored."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from graph_engine import GraphFileError, load_graph
from graph_engine.training import Trainer, load_dataset_for
from graph_engine.training.runs import read_metrics, truncate_metrics
from tests.fuzz.run_folders import base_runs, damaged


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return base_runs(tmp_path_factory.mktemp("bases"))


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_run_stopped_before_its_first_checkpoint_starts_again_there(capsys, tmp_path, bases):
    run = tmp_path / "run"
    shutil.copytree(bases["cnn"], run)
    shutil.rmtree(run / "checkpoints")  # killed before the first epoch's end
    (run / "metrics.jsonl").write_text('{"type": "step", "step": 1, "epoch": 1, "loss": 9}\n', encoding="utf-8")
    assert main(["train", "template:digits_cnn", "--out", str(run), "--epochs", "1"]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"rosenblatt train: {run} holds a run stopped before its first checkpoint: start it again there "
        f"(train --resume {run}) or choose a new run folder")
    assert main(["train", "--resume", str(run), "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert f"{run} has no checkpoint yet: training it again from step 0 there" in captured.err
    assert (run / "checkpoints" / "last.safetensors").is_file()
    records = read_metrics(run / "metrics.jsonl")
    assert records[0]["step"] == 1 and records[0]["loss"] != 9  # the old record is gone
    assert [r["type"] for r in records].count("finished") == 1


def test_an_invalid_settings_json_is_refused_and_left_as_it_is(capsys, tmp_path, bases):
    damaged(bases["cnn"], "settings.json batch_size -3")(tmp_path)
    settings = tmp_path / "run" / "settings.json"
    before = settings.read_bytes()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "3"]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"rosenblatt train: {settings}: training.batch_size must be ≥ 1, got -3")
    assert settings.read_bytes() == before


@pytest.mark.parametrize("argv, base, tensor", [
    (["patches", "{run}", "--node", "conv1", "-o", "{tmp}/p.png"], "cnn", "conv1.bias"),
    (["sample", "{run}", "--length", "5", "--beam", "3"], "char", "embed.weight"),
    (["sample", "{run}", "--length", "5"], "char", "embed.weight"),
])
def test_nan_weights_are_refused_naming_the_tensor(capsys, tmp_path, bases, argv, base, tensor):
    damaged(bases[base], "NaN weights")(tmp_path)
    run = tmp_path / "run"
    assert main([a.format(run=run, tmp=tmp_path) for a in argv]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"rosenblatt {argv[0]}: {run}/checkpoints/best.safetensors: {tensor} holds NaN; these weights compute "
        "nothing usable")
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--temperature", "nan", "--temperature must be a finite number ≥ 0, got nan"),
    ("--temperature", "inf", "--temperature must be a finite number ≥ 0, got inf"),
    ("--temperature", "-1", "--temperature must be a finite number ≥ 0, got -1.0"),
    ("--alpha", "nan", "--alpha must be a finite number, got nan"),
    ("--length", "0", "--length must be 1..1,000,000, got 0"),
    ("--length", "10000000000", "--length must be 1..1,000,000, got 10000000000"),
    ("--beam", "100000", "--beam must be 0..1,000, got 100000"),
])
def test_sample_refuses_numbers_out_of_range(capsys, bases, option, value, message):
    assert main(["sample", str(bases["char"]), option, value]) == 2
    assert _one_line(capsys.readouterr().err) == f"rosenblatt sample: {message}"


def test_resuming_removes_the_temporaries_of_a_killed_write(tmp_path, bases):
    run = tmp_path / "run"
    shutil.copytree(bases["cnn"], run)
    stale = [run / "checkpoints" / ".last.safetensors.k2j4.tmp", run / ".metrics.jsonl.x81q.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    keep = run / "checkpoints" / "notes.tmp"  # not one of ours: no leading dot
    keep.write_text("mine", encoding="utf-8")
    trainer = Trainer.resume(run, lambda g, s: load_dataset_for(g, s), probes=False)
    assert trainer.step == 5 and not any(path.exists() for path in stale) and keep.exists()


def test_resume_truncates_metrics_with_lines_that_are_not_records(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"type": "step", "step": 1}\n[1]\n5\n\xff\xfe\n{"type": "step", "step": "x"}\n'
                     b'{"type": "step", "step": 9}\n')
    truncate_metrics(path, 5)
    assert read_metrics(path) == [{"type": "step", "step": 1}]


def test_a_graph_file_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        with pytest.raises(GraphFileError, match="not a regular file"):
            load_graph(path)


def test_a_graph_file_over_64_mb_is_refused_from_its_size(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as stream:
        stream.truncate((64 << 20) + 1)  # sparse: no 64 MB written
    with pytest.raises(GraphFileError, match=r"big.json: 67,108,865 bytes, more than the 64 MB a graph file"):
        load_graph(path)


def test_a_path_with_a_line_break_is_named_in_one_line(capsys, tmp_path):
    assert main(["summary", str(tmp_path / "a\nb.json")]) == 2
    assert _one_line(capsys.readouterr().err).endswith("a\\nb.json: No such file or directory")


def test_a_wrong_argument_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--epochs", "x"])
    assert stop.value.code == 2
    assert _one_line(capsys.readouterr().err) == (
        "rosenblatt train: argument --epochs: invalid int value: 'x' (see rosenblatt train --help)")


def test_patches_k_and_gui_train_epochs_are_bounded(capsys, bases, tmp_path):
    assert main(["patches", str(bases["cnn"]), "--node", "conv1", "-k", "-1", "-o", str(tmp_path / "p.png")]) == 2
    assert _one_line(capsys.readouterr().err) == "rosenblatt patches: -k must be 1..100, got -1"
    assert main(["gui", "--screenshot", str(tmp_path / "s.png"), "--train-epochs", "10000000"]) == 2
    assert _one_line(capsys.readouterr().err) == "rosenblatt gui: --train-epochs must be 1..1,000,000, got 10000000"


def test_the_memory_estimate_heeds_an_address_space_cap():
    code = ("import resource; from graph_engine.memory import available_bytes; "
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); print(available_bytes())")
    root = str(Path(__file__).resolve().parents[2])
    capped = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={**os.environ, "PYTHONPATH": root}).stdout)
    assert 0 < capped < 3 << 30


def test_an_output_name_longer_than_the_file_system_takes_is_one_line(capsys, tmp_path):
    name = str(tmp_path / ("n" * 300 + ".py"))
    assert main(["export", "template:mlp", "-o", name]) == 2
    assert _one_line(capsys.readouterr().err).endswith("…: File name too long")


def test_gui_refuses_a_graph_over_the_editors_limit_before_building_a_window(capsys, tmp_path):
    from graph_engine import Graph, save_graph

    graph = Graph("wide")
    graph.create_node("Input", {"shape": [4]}, node_id="x")
    for i in range(50_001):
        graph.create_node("ReLU", node_id=f"r{i}")
    path = tmp_path / "wide.json"
    save_graph(graph, path)
    assert main(["gui", str(path), "--screenshot", str(tmp_path / "s.png")]) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"rosenblatt gui: {path} has 50,002 nodes and 0 edges; the editor opens graphs of up to 50,000 nodes "
        "and 100,000 edges. `rosenblatt summary` and `rosenblatt export` read it from the command line.")
    assert not (tmp_path / "s.png").exists()
