"""Open a finished (or running) run folder: its graph, settings, data and trained model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx

from graph_engine.model import Graph
from graph_engine.training import run_folder
from graph_engine.training.settings import TrainingSettings


@dataclass
class OpenedRun:
    run_dir: Path
    graph: Graph
    settings: TrainingSettings
    dataset: dict[str, Any]
    model: fx.GraphModule
    checkpoint: dict[str, Any]


def open_run(run_dir: str | Path, which: str = "best", device: str = "cpu") -> OpenedRun:
    """Load a run's graph and the weights of its ``which`` (else ``last``) checkpoint; a damaged
    folder raises RunFolderError (a DataError) naming the file (see ``run_folder``)."""
    run_dir = Path(run_dir)
    graph = run_folder.read_graph(run_dir)
    settings = run_folder.read_settings(run_dir)
    dataset = run_folder.read_dataset(run_dir)
    stem = run_folder.checkpoint_stem(run_dir, (which, "last"))
    path = stem.with_suffix(".safetensors")
    meta = run_folder.read_meta(stem)
    state = run_folder.model_state(run_folder.read_tensors(path, device), str(path))
    model = run_folder.compile_run_graph(graph, run_dir, device)
    run_folder.load_weights(model, state, str(path))
    model.eval()
    return OpenedRun(run_dir, graph, settings, dataset, model, meta)


def dataset_tensors(opened: OpenedRun) -> torch.Tensor:
    """All inputs (train then validation) of the run's dataset, shaped for its graph."""
    from graph_engine.training import load_dataset_for

    data = load_dataset_for(opened.graph, opened.settings)
    return torch.cat([data.x_train, data.x_val])
