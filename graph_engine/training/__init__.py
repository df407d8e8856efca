"""Training runs (Qt-free): settings, the Trainer loop, run folders and checkpoints.

    from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
    settings = settings_from_dict(graph.training, epochs=5)
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, sink=print)
    result = trainer.run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_engine.lazy_names import lazy_names

if TYPE_CHECKING:
    from graph_engine.data.base import Dataset
    from graph_engine.model import Graph
    from graph_engine.training.settings import TrainingSettings
    from graph_engine.training.snapshot import RunSnapshot

# loaded when first asked for: the editor imports the settings and run folders of this
# package long before anything trains, and the trainer's modules import torch
_LAZY = {
    "analyze": "graph_engine.analysis", "InputFit": "graph_engine.data", "FitError": "graph_engine.training.trainer",
    "RunResult": "graph_engine.training.trainer", "Trainer": "graph_engine.training.trainer",
    "RunSnapshot": "graph_engine.training.snapshot", "TrainingControl": "graph_engine.training.control",
    "TrainingSettings": "graph_engine.training.settings", "settings_from_dict": "graph_engine.training.settings",
    "default_run_dir": "graph_engine.training.runs", "read_metrics": "graph_engine.training.runs",
}
__getattr__, __dir__ = lazy_names("graph_engine.training", globals(), _LAZY)


def load_dataset_for(graph: Graph | RunSnapshot, settings: TrainingSettings, spec: str | None = None) -> Dataset:
    """Load ``spec`` (default: the settings' dataset) shaped for ``graph``'s Input and Output
    (a run's snapshot brings its analysis: nothing is analysed again)."""
    from graph_engine.data import load_dataset
    from graph_engine.data.split import check_fraction
    from graph_engine.lowering import checked_analysis
    from graph_engine.training.seq2seq import is_encoder_decoder, seq2seq_ends
    from graph_engine.training.snapshot import RunSnapshot
    from graph_engine.training.tasks import graph_ends

    if isinstance(graph, RunSnapshot):
        graph, analysis = graph.graph, graph.analysis
    else:
        analysis = checked_analysis(graph)
    if is_encoder_decoder(analysis):  # two Inputs: a source and the decoder's tokens
        from graph_engine.data.seq2seq import load_seq2seq

        fit = seq2seq_ends(graph, analysis).fit(settings)
        return load_seq2seq(spec or settings.dataset, fit, seed=settings.seed,
                            fraction=check_fraction(settings.validation_fraction))
    ends = graph_ends(graph, analysis)
    return load_dataset(spec or settings.dataset, ends.fit, seed=settings.seed,
                        validation_fraction=settings.validation_fraction, noise=settings.noise)


__all__ = ["FitError", "InputFit", "RunResult", "RunSnapshot", "Trainer", "TrainingControl", "TrainingSettings",
           "analyze", "default_run_dir", "load_dataset_for", "read_metrics", "settings_from_dict"]
