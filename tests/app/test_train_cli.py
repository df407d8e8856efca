"""rosenblatt train / patches / sample on real data, and their refusals."""

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from graph_engine import load_template, save_graph


@pytest.fixture
def small_cnn(tmp_path):
    graph = load_template("digits_cnn")
    for node_id in ("conv1", "conv2", "conv3"):
        graph.set_params(node_id, {"out_channels": 8})
    path = tmp_path / "cnn.json"
    save_graph(graph, path)
    return path


@pytest.mark.slow
def test_train_prints_final_metrics_and_patches_draws_them(capsys, tmp_path, small_cnn):
    run_dir = tmp_path / "run"
    assert main(["train", str(small_cnn), "--epochs", "2", "--out", str(run_dir)]) == 0
    captured = capsys.readouterr()
    lines = dict(line.split() for line in captured.out.strip().splitlines())
    assert set(lines) == {"loss", "accuracy"} and 0.1 < float(lines["accuracy"]) <= 1
    assert "completed after 2 epochs (46 steps)" in captured.err
    png = tmp_path / "patches.png"
    assert main(["patches", str(run_dir), "--node", "conv3", "-o", str(png)]) == 0
    assert "top 9 patches of 8 channels of 'conv3'" in capsys.readouterr().out
    image = np.asarray(Image.open(png))
    assert image.ndim == 3 and image.shape[2] == 3 and image.std() > 0
    _check_patches_png(png, run_dir, capsys)
    assert main(["patches", str(run_dir), "--node", "fc1", "-o", str(png)]) == 2
    assert "fc1" in capsys.readouterr().err


def _check_patches_png(png, run_dir, capsys):
    """Rows carry their labels; --scale row changes the pictures, not their layout; the
    first N channels with --channels N; bad values refused in one line."""
    from graph_engine.probes.patches import LABEL_PIXELS

    image = np.asarray(Image.open(png))
    labels = image[:, :LABEL_PIXELS].max(axis=2)
    assert (labels > 150).sum() > 8 * 40  # text in every row's label
    patch_png, row_png = png.with_name("patch.png"), png.with_name("rows.png")
    for path, scale in ((patch_png, "patch"), (row_png, "row")):  # conv1: 3×3 fields, ranges differ
        assert main(["patches", str(run_dir), "--node", "conv1", "-o", str(path), "--scale", scale,
                     "--channels", "3"]) == 0
    out = capsys.readouterr().out
    assert "the first 3 of 8 channels" in out and "scaled per row" in out
    per_patch, rows = np.asarray(Image.open(patch_png)), np.asarray(Image.open(row_png))
    assert rows.shape == per_patch.shape and rows.shape[0] < image.shape[0] / 2
    assert np.array_equal(rows[:, :LABEL_PIXELS], per_patch[:, :LABEL_PIXELS])
    assert not np.array_equal(rows, per_patch)
    for bad in (["--scale", "image"], ["--channels", "0"]):
        with pytest.raises(SystemExit) as stop:
            main(["patches", str(run_dir), "--node", "conv3", "-o", str(row_png), *bad])
        assert stop.value.code == 2
        assert bad[0] in capsys.readouterr().err


@pytest.mark.slow
def test_resume_extends_a_run(capsys, tmp_path, small_cnn):
    run_dir = tmp_path / "run"
    assert main(["train", str(small_cnn), "--epochs", "1", "--out", str(run_dir)]) == 0
    assert main(["train", "--resume", str(run_dir), "--epochs", "2"]) == 0
    assert "completed after 2 epochs (46 steps)" in capsys.readouterr().err


def test_train_refuses_data_that_does_not_fit(capsys, tmp_path):
    graph = load_template("mlp")
    graph.set_params("classes", {"out_features": 4})
    path = tmp_path / "mlp.json"
    save_graph(graph, path)
    assert main(["train", str(path), "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("rosenblatt train: digits has 10 classes but the graph's Output has 4 "
                           "units; set the last layer's out_features to 10")
    assert "Traceback" not in err
    assert main(["train", str(path), "--dataset", str(tmp_path / "nothing_here")]) == 2
    assert "nothing_here" in capsys.readouterr().err


@pytest.mark.slow
def test_sample_generates_text_from_a_character_run(capsys, tmp_path):
    graph = load_template("char_lstm")
    graph.set_params("lstm", {"hidden_size": 16, "num_layers": 1, "dropout": 0.0})
    path = tmp_path / "lm.json"
    save_graph(graph, path)
    run_dir = tmp_path / "lm"
    assert main(["train", str(path), "--epochs", "1", "--batch-size", "256", "--out", str(run_dir)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--length", "50", "--temperature", "0.5", "--seed", "1"]) == 0
    sampled = capsys.readouterr().out.rstrip("\n")
    assert len(sampled) == 50
    assert main(["sample", str(run_dir), "--length", "30", "--beam", "3"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == 30
    assert main(["sample", str(tmp_path)]) == 2


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_after_saving_a_checkpoint(tmp_path):
    import json
    import shutil
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = shutil.which("rosenblatt", path=str(Path(sys.executable).parent))
    run_dir = tmp_path / "run"
    process = subprocess.Popen([script, "train", "--epochs", "500", "--out", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run_dir / "metrics.jsonl"
    from tests.timing import deadline_s

    deadline = time.monotonic() + deadline_s(60)
    while time.monotonic() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=deadline_s(60))
    assert process.returncode == 0, err
    assert "stopped after" in err and "Traceback" not in err
    checkpoint = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    assert checkpoint["step"] > 0
    assert out.split()[0] == "loss"


@pytest.mark.slow
def test_a_translator_trains_and_decodes_from_the_command_line(capsys, tmp_path):
    """rosenblatt train template:seq2seq_translator --dataset digits-words, then sample --source with
    --beam: the K best, each with its log-probability (issue 12)."""
    run_dir = tmp_path / "run"
    assert main(["train", "template:seq2seq_translator", "--dataset", "digits-words", "--epochs", "1",
                 "--out", str(run_dir)]) == 0
    lines = dict(line.split() for line in capsys.readouterr().out.strip().splitlines())
    assert set(lines) == {"loss", "token_accuracy", "exact_match", "bleu"}
    assert (run_dir / "vocabularies.json").is_file()
    assert main(["sample", str(run_dir), "--source", "4017", "--beam", "3"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3
    scores = [float(line.split()[0]) for line in out]
    assert all(s <= 0 for s in scores)
    assert main(["sample", str(run_dir), "--source", "four"]) == 2  # a word is not in the digits' vocabulary
    assert "'f' is not in the source vocabulary" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--image", str(tmp_path / "x.png")]) == 2
    assert "this run translates text" in capsys.readouterr().err


def test_a_decoder_without_its_state_is_refused_in_one_line(capsys, tmp_path):
    graph = load_template("seq2seq_translator")
    for port in (1, 2):
        graph.remove_edge(next(e for e in graph.edges if e.target == "decoder" and e.port == port))
    path = tmp_path / "no_state.json"
    save_graph(graph, path)
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rosenblatt train: the decoder 'decoder' (LSTM) has no state port connected")
    assert "\n" not in err and not (tmp_path / "run").exists()
