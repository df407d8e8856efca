"""Run folders for the fuzz suite and the damaged-run tests: a base run made by the real code
(an untrained model's checkpoint written by ``runs.write_checkpoint``, the files a run writes),
and the ways such a folder gets damaged (``DAMAGES``: each name says what one does)."""

from __future__ import annotations

import json
import pickle
import shutil
import struct
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from graph_engine import Graph, load_template, save_graph
from graph_engine.compiler import compile_graph
from graph_engine.training import runs, settings_from_dict
from graph_engine.training.optimizers import build_optimizer


def tiny_char_graph() -> Graph:
    """The character LSTM template with a 16-character window and 16 hidden units."""
    graph = load_template("char_lstm")
    graph.set_params("chars", {"shape": [16]})
    graph.set_params("embed", {"embedding_dim": 8})
    graph.set_params("lstm", {"hidden_size": 16, "num_layers": 1, "dropout": 0.0})
    return graph


def make_run(folder: Path, graph: Graph, dataset: str, vocabulary: str | None = None, step: int = 5,
             sample_shape: list[int] | None = None) -> Path:
    """A run folder as the trainer leaves it after ``step`` steps (weights: the untrained model's)."""
    folder.mkdir(parents=True)
    settings = settings_from_dict(graph.training, dataset=dataset, epochs=1, batch_size=256)
    torch.manual_seed(0)
    model = compile_graph(graph)
    optimizer = build_optimizer(settings, model.parameters())
    tensors, optimizer_meta = runs.snapshot_checkpoint(model, optimizer, {"cpu": torch.get_rng_state()})
    meta = {"step": step, "epoch": 0, "batch_index": step, "stale_epochs": 0, "task": "classification",
            "best": {"loss": 2.3, "epoch": None, "metrics": {}}, "elapsed": 1.0, "world_size": 1,
            "optimizer": optimizer_meta}
    for name in ("last", "best"):
        runs.write_checkpoint(folder / "checkpoints" / name, tensors, meta)
    save_graph(graph, folder / "graph.json")
    runs.write_json(folder / "settings.json", settings.to_dict())
    runs.write_json(folder / "dataset.json", {"name": dataset, "task": meta["task"], "vocabulary": vocabulary,
                                              "sample_shape": sample_shape or [], "train": 10, "validation": 2})
    (folder / "metrics.jsonl").write_text("".join(
        json.dumps({"type": "step", "step": i + 1, "epoch": 1, "loss": 2.3, "lr": 0.001, "time": 0.1 * i}) + "\n"
        for i in range(step)), encoding="utf-8")
    return folder


def base_runs(root: Path) -> dict[str, Path]:
    """The runs the damages start from: the digits CNN ("cnn") and a tiny character LSTM ("char")."""
    char = tiny_char_graph()
    size = char.node("embed").params["num_embeddings"]
    return {"cnn": make_run(root / "cnn", load_template("digits_cnn"), "digits", sample_shape=[1, 8, 8]),
            "char": make_run(root / "char", char, "python-docs",
                             vocabulary="".join(chr(32 + i) for i in range(size)), sample_shape=[16])}


# -- damages ---------------------------------------------------------------------------------
def _checkpoints(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("*.safetensors"))


def _every_checkpoint(bytes_of: Callable[[Path], bytes]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        for path in _checkpoints(run):
            path.write_bytes(bytes_of(path))
    return damage


def _edit_tensors(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        for path in _checkpoints(run):
            with safe_open(str(path), "pt") as handle:
                meta = handle.metadata()
            tensors = load_file(str(path))
            edit(tensors)
            save_file(tensors, str(path), metadata=meta)
    return damage


def _edit_meta(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    """Change the metadata in each checkpoint's header (``edit`` returns the new header text)."""
    def damage(run: Path) -> None:
        for path in _checkpoints(run):
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            header = edit(meta)
            save_file(load_file(str(path)), str(path), metadata=None if header is None else {"rosenblatt": header})
            if header is None:
                path.with_suffix(".json").unlink()
    return damage


def _first_weight(tensors: dict[str, torch.Tensor]) -> str:
    return next(k for k in sorted(tensors) if k.startswith("model.") and tensors[k].is_floating_point())


def _file(name: str, data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        path.write_bytes(data(path.read_bytes()) if callable(data) else data)
    return damage


def _json_edit(name: str, **values: object) -> Callable[[Path], None]:
    return _file(name, lambda raw: json.dumps({**json.loads(raw), **values}).encode())


def _remove(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return damage


def _replace_with_folder(run: Path) -> None:
    for path in _checkpoints(run):
        path.unlink()
        path.mkdir()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "none": lambda run: None,
    "checkpoint of zero bytes": _every_checkpoint(lambda p: b""),
    "checkpoint truncated": _every_checkpoint(lambda p: p.read_bytes()[: p.stat().st_size // 2]),
    "checkpoint is a pickle": _every_checkpoint(lambda p: pickle.dumps({"model.x": [1.0]})),
    "checkpoint is torch.save": _every_checkpoint(lambda p: b"PK\x03\x04" + bytes(100)),
    "checkpoint header length 2^62": _every_checkpoint(lambda p: struct.pack("<Q", 2 ** 62) + b"{}"),
    "checkpoint header not JSON": _every_checkpoint(lambda p: struct.pack("<Q", 8) + b"not json"),
    "checkpoint is a folder": _replace_with_folder,
    "no checkpoints folder": _remove("checkpoints"),
    "weights of another shape": _edit_tensors(lambda t: t.__setitem__(_first_weight(t), torch.zeros(3))),
    "a weight missing": _edit_tensors(lambda t: t.pop(_first_weight(t))),
    "an extra weight": _edit_tensors(lambda t: t.__setitem__("model.bogus.weight", torch.zeros(2))),
    "no model weights": _edit_tensors(lambda t: [t.pop(k) for k in list(t) if k.startswith("model.")]),
    "NaN weights": _edit_tensors(lambda t: t[_first_weight(t)].fill_(float("nan"))),
    "infinite weights": _edit_tensors(lambda t: t[_first_weight(t)].fill_(float("inf"))),
    "random state missing": _edit_tensors(lambda t: t.pop("rng.cpu")),
    "random state of another size": _edit_tensors(lambda t: t.__setitem__("rng.cpu", torch.zeros(3, dtype=torch.uint8))),
    "metadata not JSON": _edit_meta(lambda meta: "{"),
    "metadata a list": _edit_meta(lambda meta: "[1, 2]"),
    "metadata step a string": _edit_meta(lambda meta: json.dumps({**meta, "step": "x"})),
    "metadata step negative": _edit_meta(lambda meta: json.dumps({**meta, "step": -4})),
    "metadata without best": _edit_meta(lambda meta: json.dumps({k: v for k, v in meta.items() if k != "best"})),
    "metadata optimizer groups wrong": _edit_meta(lambda meta: json.dumps(
        {**meta, "optimizer": {"param_groups": [{"params": [99]}], "scalars": {}}})),
    "metadata only in a missing .json": _edit_meta(lambda meta: None),
    "graph.json missing": _remove("graph.json"),
    "graph.json truncated": _file("graph.json", lambda raw: raw[:60]),
    "graph.json invalid UTF-8": _file("graph.json", lambda raw: b"\xff" + raw),
    "graph.json of another graph": _file("graph.json", lambda raw: json.dumps(
        __import__("graph_engine").graph_to_dict(load_template("mlp"))).encode()),
    "graph.json with errors": _file("graph.json", lambda raw: json.dumps(
        {**json.loads(raw), "edges": []}).encode()),
    "settings.json missing": _remove("settings.json"),
    "settings.json not JSON": _file("settings.json", b"{"),
    "settings.json a list": _file("settings.json", b"[1, 2]"),
    "settings.json batch_size -3": _json_edit("settings.json", batch_size=-3),
    "settings.json optimizer unknown": _json_edit("settings.json", optimizer="magic"),
    "settings.json lr NaN": _file("settings.json", lambda raw: raw.replace(b'"learning_rate": 0.001',
                                                                          b'"learning_rate": NaN')),
    "settings.json invalid UTF-8": _file("settings.json", b'{"seed": "\xff"}'),
    "settings.json 100 MB": _file("settings.json", b'{"x": "' + b"a" * (100 << 20) + b'"}'),
    "dataset.json missing": _remove("dataset.json"),
    "dataset.json a list": _file("dataset.json", b"[]"),
    "dataset.json vocabulary a number": _json_edit("dataset.json", vocabulary=5),
    "dataset.json sample_shape text": _json_edit("dataset.json", sample_shape="x"),
    "metrics.jsonl lines not objects": _file("metrics.jsonl", b'[1]\n5\n"x"\nnull\n'),
    "metrics.jsonl invalid UTF-8": _file("metrics.jsonl", lambda raw: raw + b"\xff\xfe\n"),
    "metrics.jsonl missing": _remove("metrics.jsonl"),
    "run folder is a file": lambda run: (shutil.rmtree(run), run.write_text("x")),
}


def damaged(base: Path, damage: str) -> Callable[[Path], None]:
    """How to lay a copy of ``base`` damaged by ``damage`` as ``<case folder>/run`` (plus g.json)."""
    def prepare(folder: Path) -> None:
        run = folder / "run"
        shutil.copytree(base, run)
        shutil.copy(base / "graph.json", folder / "g.json")
        DAMAGES[damage](run)
    return prepare
