"""Open a finished (or running) run folder: its graph, settings, data and trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx

from graph_engine.compiler import compile_graph
from graph_engine.data.base import DataError
from graph_engine.model import Graph
from graph_engine.serialization import GraphFileError, load_graph
from graph_engine.training import runs
from graph_engine.training.settings import TrainingSettings, settings_from_dict


@dataclass
class OpenedRun:
    run_dir: Path
    graph: Graph
    settings: TrainingSettings
    dataset: dict[str, Any]
    model: fx.GraphModule
    checkpoint: dict[str, Any]


def open_run(run_dir: str | Path, which: str = "best", device: str = "cpu") -> OpenedRun:
    """Load a run's graph and the weights of its ``best`` (else ``last``) checkpoint."""
    run_dir = Path(run_dir)
    if not (run_dir / "graph.json").is_file():
        raise DataError(f"{run_dir}: not a run folder (no graph.json)")
    try:
        graph = load_graph(run_dir / "graph.json")
    except GraphFileError as error:
        raise DataError(str(error)) from None
    settings = settings_from_dict(runs.read_json(run_dir / "settings.json"), strict=False)
    dataset = runs.read_json(run_dir / "dataset.json")
    stems = [run_dir / "checkpoints" / name for name in (which, "last")]
    stem = next((s for s in stems if s.with_suffix(".safetensors").exists()), None)
    if stem is None:
        raise DataError(f"{run_dir}: the run has no checkpoint yet")
    model = compile_graph(graph, device)
    state, _, _, meta = runs.load_checkpoint(stem, device)
    model.load_state_dict(state)
    model.eval()
    return OpenedRun(run_dir, graph, settings, dataset, model, meta)


def dataset_tensors(opened: OpenedRun) -> torch.Tensor:
    """All inputs (train then validation) of the run's dataset, shaped for its graph."""
    from graph_engine.training import load_dataset_for

    data = load_dataset_for(opened.graph, opened.settings)
    return torch.cat([data.x_train, data.x_val])
