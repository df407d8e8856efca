"""Run folders: graph snapshot, settings, metrics.jsonl and safetensors checkpoints.

Layout of ``runs/<graph name>-<date-time>/``::

    graph.json          the graph as it was when the run started
    settings.json       the resolved TrainingSettings
    dataset.json        what was trained on (name, task, classes, vocabulary)
    metrics.jsonl       one JSON object per line: {"type": "step"|"epoch"|..., ...}, flushed
    checkpoints/last.safetensors + last.json     newest good state (weights, optimizer, RNG)
    checkpoints/best.safetensors + best.json     best validation state (keep_best)

No pickle anywhere: tensors go to safetensors, everything else to JSON.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

from graph_engine.atomic import write_atomic, write_text_atomic
from graph_engine.training import run_folder

if TYPE_CHECKING:  # the checkpoint functions import it: the editor lists and reads runs without torch
    import torch


def default_run_dir(graph_name: str, root: str | os.PathLike[str] = "runs") -> Path:
    """``runs/<graph name>-<YYYYmmdd-HHMMSS>``, made unique if it exists."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", graph_name).strip("-") or "graph"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{slug}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{slug}-{stamp}-{suffix}"
    return path


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class MetricsLog:
    """Appends one JSON line per record and flushes, so a crash loses at most one line."""

    def __init__(self, path: Path):
        self.path = path
        self._stream: TextIO = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a metrics file: a torn last line, a line that is not UTF-8 or
    not JSON, and JSON that is not an object (a damaged file) are skipped."""
    records = []
    with open(path, "rb") as stream:
        for line in stream:
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def truncate_metrics(path: Path, step: int) -> None:
    """Drop records after ``step`` (resuming from a checkpoint taken at that step)."""
    try:
        records = read_metrics(path)
    except FileNotFoundError:  # lost: the resumed run starts a new one
        records = []
    kept = [r for r in records if _step_of(r) <= step and r.get("type") not in ("finished", "failed")]
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))


def _step_of(record: dict[str, Any]) -> float:
    step = record.get("step", 0)
    return step if isinstance(step, (int, float)) and not isinstance(step, bool) else float("inf")


# -- checkpoints ----------------------------------------------------------------------
def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    import torch

    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def snapshot_checkpoint(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        rng: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Copies of every tensor a checkpoint holds, safe from later in-place updates."""
    tensors = {f"model.{k}": v.detach().to("cpu", copy=True).contiguous()
               for k, v in model.state_dict().items()}
    optimizer_tensors, optimizer_meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update({k: v.clone() for k, v in optimizer_tensors.items()})
    tensors.update({f"rng.{k}": v.clone() for k, v in rng.items()})
    return tensors, optimizer_meta


def write_checkpoint(stem: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``stem.safetensors`` (with ``meta`` in its header, so weights and step can never
    disagree) durably and atomically, then a readable copy of ``meta`` as ``stem.json``."""
    from safetensors.torch import save

    stem.parent.mkdir(parents=True, exist_ok=True)
    data = save(tensors, metadata={"rosenblatt": json.dumps(meta)})
    write_atomic(stem.with_suffix(".safetensors"), lambda stream: stream.write(data))
    write_json(stem.with_suffix(".json"), meta)


class CheckpointWriter:
    """Writes checkpoints on one background thread so training does not wait for the disk.

    The snapshot is taken at once (copies), the write happens behind; :meth:`flush`
    waits for every write and re-raises a failure. Writes are atomic either way.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending: list[Future] = []

    def submit(self, stem: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Queue a write of a snapshot (from :func:`snapshot_checkpoint`)."""
        self.call(write_checkpoint, stem, tensors, meta)

    def call(self, write: Callable[..., None], *args: Any) -> None:
        """Queue any other write (run-folder files), in order with the checkpoints.

        A write that failed earlier (a full disk) is raised here, at the next checkpoint,
        rather than at the end of a long run."""
        done = [f for f in self._pending if f.done()]
        self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            future.result()
        self._pending.append(self._executor.submit(write, *args))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._executor.shutdown(wait=True)


def load_checkpoint(stem: Path, device: torch.device | str = "cpu"
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, torch.Tensor], dict]:
    """(model state_dict, optimizer state_dict, RNG tensors, metadata) of a checkpoint, each
    checked (``run_folder``): a damaged file is a RunFolderError naming it."""
    path = stem.with_suffix(".safetensors")
    meta = run_folder.read_meta(stem)
    tensors = run_folder.read_tensors(path, device)
    model = run_folder.model_state(tensors, str(path))
    rng = {k[len("rng."):]: v.cpu() for k, v in tensors.items() if k.startswith("rng.")}
    try:
        optimizer = _unflatten_optimizer(tensors, meta["optimizer"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise run_folder.RunFolderError(f"{path}: the optimizer's state is damaged ({type(error).__name__}: "
                                        f"{' '.join(str(error).split())})") from None
    return model, optimizer, rng, meta
