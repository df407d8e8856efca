"""Training runs (Qt-free): settings, the Trainer loop, run folders and checkpoints.

    from graph_engine.training import Trainer, load_dataset_for, settings_from_dict
    settings = settings_from_dict(graph.training, epochs=5)
    trainer = Trainer(graph, load_dataset_for(graph, settings), settings, sink=print)
    result = trainer.run()
"""

from graph_engine.analysis import analyze
from graph_engine.data import InputFit, load_dataset
from graph_engine.data.base import Dataset
from graph_engine.data.split import check_fraction
from graph_engine.lowering import checked_analysis
from graph_engine.model import Graph
from graph_engine.training.control import TrainingControl
from graph_engine.training.runs import default_run_dir, read_metrics
from graph_engine.training.settings import TrainingSettings, settings_from_dict
from graph_engine.training.snapshot import RunSnapshot
from graph_engine.training.seq2seq import is_encoder_decoder, seq2seq_ends
from graph_engine.training.tasks import graph_ends
from graph_engine.training.trainer import FitError, RunResult, Trainer


def load_dataset_for(graph: Graph | RunSnapshot, settings: TrainingSettings, spec: str | None = None) -> Dataset:
    """Load ``spec`` (default: the settings' dataset) shaped for ``graph``'s Input and Output
    (a run's snapshot brings its analysis: nothing is analysed again)."""
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
