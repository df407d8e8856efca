"""Which probes run when during a training run, and how their results become events.

Probes 1-3 (activation statistics, gradient health, feature maps and filters) run at
the settings' interval on a fixed probe batch; the confusion matrix, segmentation
sample and text samples run at each epoch's end. All of it is measured on the
training device and sent as ``{"type": "probe", "kind": ..., "step": ..., "data": ...}``.

The probes see a run through a :class:`ProbeContext`: the model, the analysis, the
validation tensors, the task, the dataset's labels and a way to emit, never the
trainer itself, so they can neither steer the run nor depend on its internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import fx

from graph_engine import probes
from graph_engine.analysis import Analysis
from graph_engine.compiler import NODE_KEY
from graph_engine.data.base import CLASSIFICATION, LANGUAGE_MODEL, SEGMENTATION, SEQ2SEQ
from graph_engine.model import Graph
from graph_engine.probes.incremental import DecodingError
from graph_engine.training.tasks import PERCEPTRON, GraphEnds

#: samples in the fixed batch that activation statistics are measured on (small: they cost
#: a forward pass each time, and 32 samples already give stable fractions and histograms)
PROBE_BATCH = 32
#: positions a batch of token windows holds at most (each window of T tokens is T positions,
#: each a full set of the layers' units: 32 windows of 64 characters cost a char LSTM's probe
#: as much as a fifth of a training step, and 512 positions already fill a histogram)
PROBE_POSITIONS = 512
#: windows a probe batch of tokens keeps however long they are
MIN_PROBE_WINDOWS = 4
#: nodes whose feature maps are probed at once (a viewer's choice joins the default ones)
MAX_FEATURE_NODES = 6
#: characters generated for the text sample at each epoch's end
SAMPLE_LENGTH = 240
#: nodes whose activation statistics one probe measures besides the watched one: a rotating
#: sample, so that on a deep network each node is refreshed in turn and a probe stays cheap
ACTIVATION_NODES_PER_PROBE = 6


#: share of values outside a node's histogram range that makes the range widen
OUTSIDE_LIMIT = 0.05


def _kept_range(entry: dict[str, Any]) -> tuple[float, float]:
    """Keep a node's histogram bins fixed over time, widening them (never narrowing) once
    more than 5 % of the values fall outside, so late histograms stay readable."""
    low, high = entry["range"]
    total = sum(entry["counts"]) + entry["below"] + entry["above"]
    if total and (entry["below"] + entry["above"]) / total > OUTSIDE_LIMIT:
        new_low, new_high = probes.nice_range(min(low, entry["min"]), max(high, entry["max"]))
        return (new_low, new_high)
    return (low, high)


def probe_samples(ends: GraphEnds) -> int:
    """How many validation samples the activation probe's batch takes: PROBE_BATCH, or for
    token windows as many as PROBE_POSITIONS positions fill (at least MIN_PROBE_WINDOWS)."""
    if ends.input_dtype == "int64" and len(ends.input_shape) == 1 and ends.input_shape[0] > 0:
        return max(MIN_PROBE_WINDOWS, min(PROBE_BATCH, PROBE_POSITIONS // ends.input_shape[0]))
    return PROBE_BATCH


@dataclass(frozen=True)
class ProbeContext:
    """What the probes of a run may use (see the module docstring)."""

    model: fx.GraphModule
    analysis: Analysis
    #: the Input and Output as training sees them (shapes: classes, text window)
    ends: GraphEnds
    #: validation inputs and (prepared) targets, on the training device
    x_val: torch.Tensor
    y_val: torch.Tensor
    task: str
    #: the dataset's class names (classification, segmentation) and vocabulary (text)
    class_names: list[str] | None
    vocabulary: str | None
    #: the nodes whose feature maps the settings ask for (empty: the first convolutions)
    feature_map_nodes: tuple[str, ...]
    seed: int
    #: sends one event (the trainer's sink and logs)
    emit: Callable[[dict[str, Any]], None]
    #: a viewer's wishes since the last call (TrainingControl.requests)
    requests: Callable[[], dict[str, Any]]
    #: the seq2seq task (decoding, the encoder's state), for an encoder–decoder's run
    seq2seq: Any = None
    #: training inputs and (prepared) targets: the points a decision boundary is drawn over
    x_train: torch.Tensor | None = None
    y_train: torch.Tensor | None = None

    @property
    def graph(self) -> Graph:
        return self.analysis.graph

    @property
    def live(self) -> dict[str, str]:
        """The graph nodes with a compiled output."""
        return self.model.meta[NODE_KEY]


class RunProbes:
    """The probes of one run, bound to its model and data."""

    def __init__(self, context: ProbeContext):
        self.context = context
        self.batch = context.x_val[:probe_samples(context.ends)]
        if context.seq2seq is not None:  # the module takes the source and the decoder's tokens
            self.batch = context.seq2seq.ends.arguments(self.batch, context.y_val[:len(self.batch), :-1])
        self.sample_index = 0
        self.sample = context.x_val[0]
        self.monitor = probes.GradientMonitor(context.model)
        self.ranges: dict[str, tuple[float, float]] = {}
        self.feature_nodes = self._default_feature_nodes() if context.seq2seq is None else []
        #: the convolution whose filters the Filters view shows (None without one)
        self.filter_node = probes.first_conv_node(context.model, context.graph)
        self._grad_norms: dict[str, float] = {}
        #: every node with activation statistics (a probe taps only its sample: building a tap
        #: costs a few ms, and the forward pass stops at the sample's last node)
        self.activation_nodes = probes.activation_nodes(context.model, context.graph, context.analysis)
        #: the node a viewer looks at: measured at every probe
        self.watched: str | None = None
        self._rotation = 0
        #: whether text samples can decode incrementally (False once the graph refused)
        self._decodable = True
        #: a two-feature classifier's hidden units (its decision boundary is probed), else None
        self.boundary_units = self._boundary_units()

    def _boundary_units(self) -> list[str] | None:
        context = self.context
        if (context.task not in (CLASSIFICATION, PERCEPTRON) or context.x_train is None
                or not probes.takes_two_features(context.ends.input_shape, context.ends.input_dtype)):
            return None
        return probes.hidden_units(context.model, context.analysis, context.ends.output_id)

    def boundary(self, step: int) -> None:
        """The plane coloured by the predicted class, the training points, the hidden units."""
        context = self.context
        if self.boundary_units is not None:
            self._emit("boundary", step, probes.decision_boundary(
                context.model, context.analysis, context.x_train, context.y_train,
                context.task == PERCEPTRON, self.boundary_units))

    def _default_feature_nodes(self) -> list[str]:
        """The settings' nodes, else the first four convolutions."""
        context = self.context
        chosen = [n for n in context.feature_map_nodes if n in context.live]
        return chosen or [n for n in context.analysis.order
                          if context.graph.node(n).type == "Conv2d" and n in context.live][:4]

    def before_update(self) -> None:
        """After backward, before the optimizer step: gradients exist, weights are old."""
        self._grad_norms = self.monitor.grad_norms()
        self.monitor.before_step()

    def apply_requests(self, changes: dict[str, Any]) -> None:
        """Follow a viewer's wishes: another validation sample, other feature-map nodes."""
        context = self.context
        index = changes.get("sample")
        if isinstance(index, int) and 0 <= index < len(context.x_val):
            self.sample_index, self.sample = index, context.x_val[index]
        nodes = changes.get("feature_nodes")
        if context.seq2seq is not None:
            return  # feature maps of one sample need every Input: not offered for an encoder–decoder
        if isinstance(nodes, (list, tuple)):
            self.feature_nodes = [n for n in nodes if n in context.live]
        watched = changes.get("watch_node")
        if isinstance(watched, str) and watched in context.live:
            self.watched = watched
            if watched not in self.feature_nodes:
                # the node a person is looking at joins the probed ones (the oldest such one leaves)
                self.feature_nodes = (self.feature_nodes + [watched])[-MAX_FEATURE_NODES:]

    def activation_sample(self) -> list[str]:
        """The watched node and the next group of the others, in turn (see ACTIVATION_NODES_PER_PROBE).

        The others are cut into fixed groups of consecutive nodes, so the same few node sets
        come round again and again: each has its tap built once (a tap costs more than a
        probe's statistics on a deep network, and a sliding window would need a new one at
        every probe), and a group's forward pass stops at its last node."""
        nodes = self.activation_nodes
        chosen = [self.watched] if self.watched in nodes else []
        others = [n for n in nodes if n not in chosen]
        if others:
            groups = -(-len(others) // ACTIVATION_NODES_PER_PROBE)
            index = self._rotation % groups
            chosen += others[index * len(others) // groups:(index + 1) * len(others) // groups]
            self._rotation = index + 1
        order = {n: i for i, n in enumerate(nodes)}
        return sorted(chosen, key=order.__getitem__)

    def after_update(self, step: int) -> None:
        context = self.context
        self.apply_requests(context.requests())
        ratios = self.monitor.update_ratios()
        self._emit("gradients", step, {"norms": self._grad_norms, "update_ratios": ratios})
        stats = probes.activation_stats(context.model, context.graph, self.batch, self.activation_sample(),
                                        ranges=self.ranges, analysis=context.analysis)
        for node_id, entry in stats.items():
            self.ranges[node_id] = _kept_range(entry)
        self._emit("activations", step, stats)
        if self.feature_nodes:
            maps = probes.feature_maps(context.model, self.sample, self.feature_nodes)
            self._emit("feature_maps", step, maps)
        if context.seq2seq is not None:
            return
        self.boundary(step)
        self._emit("probe_sample", step, {
            "index": self.sample_index, "input": self.sample.detach().cpu().numpy(),
            "target": context.y_val[self.sample_index].detach().cpu().numpy()})
        if self.filter_node is not None:
            filters = probes.first_layer_filters(context.model, context.graph, self.filter_node)
            self._emit("filters", step, {"filters": filters, "node": self.filter_node})

    def at_epoch_end(self, step: int, extras: dict[str, torch.Tensor]) -> None:
        """The task's end-of-epoch picture: confusion matrix, segmentation sample or text."""
        task = self.context.task
        self.boundary(step)
        if task == CLASSIFICATION:
            self._confusion(step, extras["predictions"])
        elif task == SEGMENTATION:
            self._segmentation(step, extras["predictions"])
        elif task == LANGUAGE_MODEL and self.context.vocabulary:
            self._text_sample(step)
        elif task == SEQ2SEQ and self.context.seq2seq is not None:
            self._seq2seq(step, extras.get("hypotheses", []))

    def _confusion(self, step: int, predictions: torch.Tensor) -> None:
        context = self.context
        matrix = probes.confusion_matrix(predictions, context.y_val, context.ends.output_shape[0])
        self._emit("confusion", step, {"matrix": matrix, "per_class_accuracy": probes.per_class_accuracy(matrix),
                                       "class_names": context.class_names})

    def _segmentation(self, step: int, predictions: torch.Tensor) -> None:
        context = self.context
        self._emit("segmentation", step, {
            "image": context.x_val[0].detach().cpu().numpy(), "predicted": predictions[0].cpu().numpy(),
            "true": context.y_val[0].cpu().numpy(), "class_names": context.class_names})

    def _text_sample(self, step: int) -> None:
        context = self.context
        vocabulary = context.vocabulary
        prompt = "".join(vocabulary[i] for i in context.x_val[0, :16].tolist())
        # incremental decoding (the prompt read once, then one character per step with the
        # recurrent state carried on); a model that cannot run step by step (a convolution
        # over time) re-runs its window per character instead
        graph = context.graph if self._decodable else None
        try:
            text = probes.sample_text(context.model, vocabulary, prompt, SAMPLE_LENGTH, temperature=0.8,
                                      window=context.ends.input_shape[0], seed=context.seed + step, graph=graph)
        except DecodingError:
            self._decodable = False
            text = probes.sample_text(context.model, vocabulary, prompt, SAMPLE_LENGTH, temperature=0.8,
                                      window=context.ends.input_shape[0], seed=context.seed + step)
        self._emit("samples", step, {"prompt": prompt, "text": text, "temperature": 0.8})

    def _seq2seq(self, step: int, hypotheses: list[str]) -> None:
        """Decodings of the first validation samples, and the encoder state's projection."""
        from graph_engine.probes import evaluating
        from graph_engine.training.seq2seq import ENCODER_POINTS, encoder_projection

        task = self.context.seq2seq
        self._emit("translations", step, {"rows": task.shown(hypotheses)})
        with evaluating(self.context.model):
            states = task.encoder_states(self.context.x_val[:ENCODER_POINTS])
        labels = task.labels[:len(states)]
        self._emit("encoder_states", step, encoder_projection(states, labels))

    def _emit(self, kind: str, step: int, data: Any) -> None:
        self.context.emit({"type": "probe", "kind": kind, "step": step, "data": data})

