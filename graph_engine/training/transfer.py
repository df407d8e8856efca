"""Starting a run from another run's weights: transfer learning and branching.

The source is a run folder (its best checkpoint, else its last), a ``.safetensors`` file
(a checkpoint's ``model.*`` tensors or plain ``state_dict`` keys) or a ``.pth`` state dict,
read only with ``torch.load(weights_only=True)``, never unpickled otherwise. A tensor is
carried where its node id (after an optional ``{"old_id": "new_id"}`` mapping of renamed
nodes) and its shape match; the rest of the network keeps its fresh initial weights. Weights
that fit nothing are refused, in one line, before any run folder is made.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph_engine.shape_format import shape_text

if TYPE_CHECKING:  # loaded by the functions that read or carry weights: the editor imports this
    import torch   # module for Branch from this run, long before anything trains

_PREFIX = "model."
#: names listed in a report line before "…"
_SHOWN = 3


class TransferError(ValueError):
    """Weights that cannot start this run; ``str()`` is one line naming the file."""


@dataclass
class WeightSource:
    """Tensors keyed like ``state_dict()`` and where they came from."""

    path: Path
    state: dict[str, torch.Tensor]
    #: the run folder they were trained in, with the epoch and step of its checkpoint
    run_dir: Path | None = None
    epoch: int | None = None
    step: int | None = None


@dataclass
class TransferReport:
    """What was carried: tensor names per outcome, and the one-line summary."""

    source: WeightSource
    carried: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    #: (key, shape in the weights, shape in this graph)
    skipped: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def text(self) -> str:
        """``carried 14 tensors, 2 new (fc2.weight, fc2.bias), 1 skipped (fc2.weight shape 10×128 ≠ 5×128)``."""
        parts = [f"carried {len(self.carried)} tensor{'s' if len(self.carried) != 1 else ''}"]
        if self.new:
            parts.append(f"{len(self.new)} new ({_names(self.new)})")
        if self.skipped:
            shown = [f"{key} shape {shape_text(a)} ≠ {shape_text(b)}" for key, a, b in self.skipped]
            parts.append(f"{len(self.skipped)} skipped ({_names(shown)})")
        return ", ".join(parts)

    def record(self) -> dict[str, Any]:
        """The ``branch`` record of metrics.jsonl (and event): what the run started from."""
        source = self.source
        return {"type": "branch", "from": str(source.run_dir or source.path),
                "run": None if source.run_dir is None else str(source.run_dir),
                "epoch": source.epoch, "source_step": source.step, "carried": len(self.carried),
                "new": self.new, "skipped": [key for key, _, _ in self.skipped], "text": self.text()}


def _names(items: list[str]) -> str:
    return ", ".join(items[:_SHOWN]) + (", …" if len(items) > _SHOWN else "")


def load_source(path: str | os.PathLike[str]) -> WeightSource:
    """The tensors at ``path``: a run folder, a .safetensors file or a .pth state dict."""
    path = Path(path)
    if path.is_dir():
        return _run_source(path)
    if not path.is_file():
        raise TransferError(f"{path}: no such run folder or weights file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return WeightSource(path, _strip(_safetensors(path), path))
    if suffix in (".pth", ".pt"):
        return WeightSource(path, _pth(path))
    raise TransferError(f"{path}: not a run folder, .safetensors or .pth file")


def run_checkpoint(folder: str | os.PathLike[str]) -> Path:
    """A run folder's best checkpoint, else its last (the ``.safetensors`` file)."""
    folder = Path(folder)
    for name in ("best", "last"):
        path = folder / "checkpoints" / f"{name}.safetensors"
        if path.is_file():
            return path
    if not folder.is_dir():
        raise TransferError(f"{folder}: no such run folder or weights file")
    raise TransferError(f"{folder}: no checkpoint (checkpoints/best.safetensors or last.safetensors); "
                        "train that run first")


def branch_graph(run_dir: str | os.PathLike[str]):
    """A run's graph whose next training starts from the run's weights (``training.init_from``):
    what "Branch from this run" opens. Raises TransferError (no checkpoint) or GraphFileError."""
    from graph_engine.serialization import load_graph

    folder = Path(run_dir).resolve()
    run_checkpoint(folder)  # a run without weights cannot start anything: say so now
    graph = load_graph(folder / "graph.json")
    graph.set_training({**graph.training, "init_from": str(folder)})
    return graph


def _run_source(folder: Path) -> WeightSource:
    path = run_checkpoint(folder)
    state = _strip(_safetensors(path), path)
    epoch = step = None
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        epoch, step = int(meta["epoch"]), int(meta["step"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # the weights are what matter; the epoch only labels the curves
    return WeightSource(path, state, folder, epoch, step)


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (OSError, SafetensorError) as error:
        raise TransferError(f"{path}: not a readable safetensors file ({error})") from None


def _strip(tensors: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's ``model.*`` tensors without the prefix; plain keys as they are."""
    model = {k[len(_PREFIX):]: v for k, v in tensors.items() if k.startswith(_PREFIX)}
    state = model or tensors
    if not state:
        raise TransferError(f"{path}: holds no tensors")
    return state


def _pth(path: Path) -> dict[str, torch.Tensor]:
    """A state dict saved with ``torch.save``: only tensors, through the safe unpickler."""
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 (pickle and zip errors come in many classes)
        reason = " ".join(str(error).split())[:200]
        raise TransferError(f"{path}: not a state dict torch.load(weights_only=True) can read ({reason})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]  # {"state_dict": ..., "epoch": ...}, as many scripts save
    if not isinstance(loaded, dict) or not loaded:
        raise TransferError(f"{path}: holds no state dict (a dict of tensor names to tensors)")
    state = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise TransferError(f"{path}: its dict holds no tensors")
    return state


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """A JSON object ``{"old_id": "new_id"}`` of renamed nodes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise TransferError(f"{path}: cannot read the mapping file ({error.strerror or error})") from None
    except ValueError as error:
        raise TransferError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise TransferError(f'{path}: the mapping must be a JSON object of node ids, e.g. {{"fc": "head"}}')
    return data


def owner_node(key: str, ids: set[str]) -> str | None:
    """The node id a state_dict key belongs to: its longest dotted prefix that is a node."""
    parts = key.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in ids:
            return candidate
    return None


def _renamed(state: dict[str, torch.Tensor], mapping: dict[str, str], node_ids: set[str],
             source: WeightSource, graph_name: str) -> dict[str, torch.Tensor]:
    if not mapping:
        return state
    missing = [new for new in mapping.values() if new not in node_ids]
    if missing:
        raise TransferError(f"init map: {missing[0]!r} is not a node of {graph_name!r}")
    renamed = {}
    for key, tensor in state.items():
        old = owner_node(key, set(mapping))
        renamed[mapping[old] + key[len(old):] if old is not None else key] = tensor
    return renamed


def carry_weights(model: "torch.nn.Module", source: WeightSource, node_ids: set[str],
                  graph_name: str, mapping: dict[str, str] | None = None) -> TransferReport:
    """Copy into ``model`` every tensor whose (mapped) key and shape match; the report says what.

    Refuses (TransferError) a mapping to a missing node, and weights that fit nothing."""
    import torch

    state = _renamed(source.state, mapping or {}, node_ids, source, graph_name)
    report = TransferReport(source)
    own = model.state_dict()
    with torch.no_grad():
        for key, tensor in own.items():
            given = state.get(key)
            if given is None:
                report.new.append(key)
            elif tuple(given.shape) != tuple(tensor.shape):
                report.skipped.append((key, tuple(given.shape), tuple(tensor.shape)))
            else:
                tensor.copy_(given)
                report.carried.append(key)
    if not report.carried:
        example = next(iter(source.state))
        raise TransferError(f"{source.run_dir or source.path}: the weights fit nothing in {graph_name!r} "
                            f"(no tensor with a matching node id and shape, e.g. {example}); rename with "
                            "--init-map or start fresh")
    return report
