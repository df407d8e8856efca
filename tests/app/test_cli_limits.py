"""Issue 17 items 8, 10 and 12: unusual but valid JSON, token data an Embedding cannot take and
the GUI's command line give one line and the documented exit code, never a traceback."""

import json

import numpy as np
import pytest

from app import gui
from app.cli import main
from graph_engine import GraphFileError, graph_to_dict, load_graph, load_template, loads


def _write_graph(path, name: str = "net", extra: str = "") -> None:
    """The mlp template named ``name`` (json.dumps writes a lone surrogate as \\ud800), with
    ``extra`` JSON text appended to the top-level object."""
    data = graph_to_dict(load_template("mlp"))
    data["name"] = name
    path.write_text(json.dumps(data)[:-1] + extra + "}", encoding="utf-8")


def test_a_lone_surrogate_in_the_name_is_printed_escaped(capsys, tmp_path):
    path = tmp_path / "g.json"
    _write_graph(path, "odd \ud800 name")
    assert load_graph(path).name == "odd \ud800 name"
    assert main(["summary", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "odd \\ud800 name"
    assert main(["summary", str(path), "--json"]) == 0
    assert '"name": "odd \\ud800 name"' in capsys.readouterr().out


def test_an_integer_of_5000_digits_is_a_one_line_graph_file_error(capsys, tmp_path):
    path = tmp_path / "g.json"
    _write_graph(path, extra=', "x": 1' + "0" * 5000)
    with pytest.raises(GraphFileError, match="invalid JSON: Exceeds the limit"):
        loads(path.read_text(encoding="utf-8"), str(path))
    for argv in (["summary", str(path)], ["export", str(path), "-o", str(tmp_path / "m.py")],
                 ["gui", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"rosenblatt {argv[0]}: {path}: invalid JSON")


def test_gui_exits_2_on_an_unreadable_file(capsys, tmp_path):
    assert main(["gui", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.strip().endswith("missing.json: No such file or directory")


@pytest.mark.parametrize("size, message", [
    ("0x0", "--size must be 200..16384 pixels each way, got 0x0"),
    ("100000x100000", "--size must be 200..16384 pixels each way, got 100000x100000"),
    ("199x800", "--size must be 200..16384 pixels each way, got 199x800"),
    ("wide", "--size must be WxH, e.g. 1600x1000, got 'wide'"),
])
def test_gui_refuses_window_sizes_out_of_range(capsys, monkeypatch, tmp_path, size, message):
    started = []
    monkeypatch.setattr(gui, "run_gui", lambda *a, **k: started.append(a) or 0)
    assert main(["gui", "--screenshot", str(tmp_path / "s.png"), "--size", size]) == 2
    assert capsys.readouterr().err == f"rosenblatt gui: {message}\n"
    assert started == []


def test_gui_takes_sizes_at_the_limits(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(gui, "run_gui", lambda *a, **k: started.append(a[2]) or 0)
    for size in ("200x200", "16384x16384", "1600x1000"):
        assert main(["gui", "--screenshot", str(tmp_path / "s.png"), "--size", size]) == 0
    assert started == [(200, 200), (16384, 16384), (1600, 1000)]


def test_train_refuses_negative_tokens_before_making_a_run_folder(capsys, tmp_path):
    graph = tmp_path / "tokens.json"
    data = {"format": "rosenblatt-graph", "version": 1, "name": "tokens",
            "nodes": [{"id": "tokens", "type": "Input", "params": {"shape": [3], "dtype": "int64"}},
                      {"id": "embed", "type": "Embedding", "params": {"num_embeddings": 5, "embedding_dim": 4}},
                      {"id": "flat", "type": "Flatten"}, {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
                      {"id": "out", "type": "Output"}],
            "edges": [{"source": s, "target": t} for s, t in
                      (("tokens", "embed"), ("embed", "flat"), ("flat", "fc"), ("fc", "out"))]}
    graph.write_text(json.dumps(data), encoding="utf-8")
    x = np.arange(60).reshape(20, 3) % 5
    x[3, 1] = -1
    np.savez(tmp_path / "tokens.npz", x=x, y=np.arange(20) % 2)
    run = tmp_path / "run"
    assert main(["train", str(graph), "--dataset", str(tmp_path / "tokens.npz"), "--epochs", "1",
                 "--out", str(run)]) == 2
    assert capsys.readouterr().err == (f"rosenblatt train: {tmp_path / 'tokens.npz'}: row 3 has token index -1; "
                                       "token indices must be 0..num_embeddings-1\n")
    assert not run.exists()
