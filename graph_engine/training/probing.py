"""Which probes run when during a training run, and how their results become events.

Probes 1-3 (activation statistics, gradient health, feature maps and filters) run at
the settings' interval on a fixed probe batch; the confusion matrix, segmentation
sample and text samples run at each epoch's end. All of it is measured on the
training device and sent as ``{"type": "probe", "kind": ..., "step": ..., "data": ...}``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch

from graph_engine import probes
from graph_engine.data.base import CLASSIFICATION, LANGUAGE_MODEL, SEGMENTATION

if TYPE_CHECKING:
    from graph_engine.training.trainer import Trainer

#: samples in the fixed batch that activation statistics are measured on (small: they cost
#: a forward pass each time, and 32 samples already give stable fractions and histograms)
PROBE_BATCH = 32
#: nodes whose feature maps are probed at once (a viewer's choice joins the default ones)
MAX_FEATURE_NODES = 6
#: characters generated for the text sample at each epoch's end
SAMPLE_LENGTH = 240


class ProbeSchedule:
    """Says whether the interval probes are due: every N steps, or every N milliseconds."""

    def __init__(self, every: int, unit: str):
        self.every = every
        self.unit = unit
        self._last = -float("inf")

    def due(self, step: int) -> bool:
        if self.every <= 0:
            return False
        if self.unit == "steps":
            return step % self.every == 0
        now = time.monotonic() * 1000.0
        if now - self._last >= self.every:
            self._last = now
            return True
        return False


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


class RunProbes:
    """The probes of one run, bound to its model and data."""

    def __init__(self, trainer: "Trainer"):
        self.trainer = trainer
        self.batch = trainer.x_val[:PROBE_BATCH]
        self.sample_index = 0
        self.sample = trainer.x_val[0]
        self.monitor = probes.GradientMonitor(trainer.model)
        self.ranges: dict[str, tuple[float, float]] = {}
        live = trainer.model.meta["rosenblatt_nodes"]
        chosen = [n for n in trainer.settings.feature_map_nodes if n in live]
        if not chosen:
            chosen = [n for n in trainer.analysis.order
                      if trainer.graph.node(n).type == "Conv2d" and n in live][:4]
        self.feature_nodes = chosen
        #: the convolution whose filters the Filters view shows (None without one)
        self.filter_node = probes.first_conv_node(trainer.model, trainer.graph)
        self._grad_norms: dict[str, float] = {}

    def before_update(self) -> None:
        """After backward, before the optimizer step: gradients exist, weights are old."""
        self._grad_norms = self.monitor.grad_norms()
        self.monitor.before_step()

    def apply_requests(self, changes: dict[str, Any]) -> None:
        """Follow a viewer's wishes: another validation sample, other feature-map nodes."""
        trainer = self.trainer
        index = changes.get("sample")
        if isinstance(index, int) and 0 <= index < len(trainer.x_val):
            self.sample_index, self.sample = index, trainer.x_val[index]
        live = trainer.model.meta["rosenblatt_nodes"]
        nodes = changes.get("feature_nodes")
        if isinstance(nodes, (list, tuple)):
            self.feature_nodes = [n for n in nodes if n in live]
        watched = changes.get("watch_node")
        if isinstance(watched, str) and watched in live and watched not in self.feature_nodes:
            # the node a person is looking at joins the probed ones (the oldest such one leaves)
            self.feature_nodes = (self.feature_nodes + [watched])[-MAX_FEATURE_NODES:]

    def after_update(self, step: int) -> None:
        trainer = self.trainer
        self.apply_requests(trainer.control.requests())
        ratios = self.monitor.update_ratios()
        self._emit("gradients", step, {"norms": self._grad_norms, "update_ratios": ratios})
        stats = probes.activation_stats(trainer.model, trainer.graph, self.batch, ranges=self.ranges,
                                        analysis=trainer.analysis)
        for node_id, entry in stats.items():
            self.ranges[node_id] = _kept_range(entry)
        self._emit("activations", step, stats)
        if self.feature_nodes:
            maps = probes.feature_maps(trainer.model, self.sample, self.feature_nodes)
            self._emit("feature_maps", step, maps)
        self._emit("probe_sample", step, {
            "index": self.sample_index, "input": self.sample.detach().cpu().numpy(),
            "target": trainer.y_val[self.sample_index].detach().cpu().numpy()})
        if self.filter_node is not None:
            filters = probes.first_layer_filters(trainer.model, trainer.graph, self.filter_node)
            self._emit("filters", step, {"filters": filters, "node": self.filter_node})

    def at_epoch_end(self, step: int, extras: dict[str, torch.Tensor]) -> None:
        trainer = self.trainer
        task = trainer.task
        if task == CLASSIFICATION:
            matrix = probes.confusion_matrix(extras["predictions"], trainer.y_val,
                                             trainer.ends.output_shape[0])
            self._emit("confusion", step, {"matrix": matrix,
                                           "per_class_accuracy": probes.per_class_accuracy(matrix),
                                           "class_names": trainer.dataset.class_names})
        elif task == SEGMENTATION:
            self._emit("segmentation", step, {
                "image": trainer.x_val[0].detach().cpu().numpy(),
                "predicted": extras["predictions"][0].cpu().numpy(),
                "true": trainer.y_val[0].cpu().numpy(), "class_names": trainer.dataset.class_names})
        elif task == LANGUAGE_MODEL and trainer.dataset.vocabulary:
            vocabulary = trainer.dataset.vocabulary
            prompt = "".join(vocabulary[i] for i in trainer.dataset.x_val[0, :16].tolist())
            text = probes.sample_text(trainer.model, vocabulary, prompt, SAMPLE_LENGTH,
                                      temperature=0.8, window=trainer.ends.input_shape[0],
                                      seed=trainer.settings.seed + step)
            self._emit("samples", step, {"prompt": prompt, "text": text, "temperature": 0.8})

    def _emit(self, kind: str, step: int, data: Any) -> None:
        self.trainer._emit({"type": "probe", "kind": kind, "step": step, "data": data})
