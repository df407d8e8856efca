"""Shared by the export and import tests: a short real training run, and importing a module."""

import importlib.util
from pathlib import Path

from graph_engine import load_template
from graph_engine.training import Trainer, load_dataset_for, settings_from_dict


def train_briefly(folder: Path, template: str = "mlp") -> Path:
    """A one-epoch run of a template on its dataset (probes off); returns the run folder."""
    graph = load_template(template)
    settings = settings_from_dict(graph.training, epochs=1, probe_every=0)
    run_dir = folder / "run"
    Trainer(graph, load_dataset_for(graph, settings), settings, None, run_dir, probes=False).run()
    return run_dir


def import_file(path: Path, name: str):
    """Import a generated Python file as a module (without touching sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
