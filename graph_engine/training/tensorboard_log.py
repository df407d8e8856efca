"""TensorBoard event files for a run, so ``tensorboard --logdir runs/`` shows it too.

``metrics.jsonl`` and the checkpoints stay the run's record; this is a copy for the tool
people already use. The trainer's events become summaries in ``RUN_DIR/tensorboard/``:

- each step: ``train/loss`` and ``train/lr``;
- each epoch: ``validation/<metric>`` (loss, accuracy, ...), at the step the epoch ended;
- each activation probe: a histogram ``activations/<node>`` and, where they apply,
  ``dead_fraction/<node>`` and ``saturated_fraction/<node>``;
- each gradient probe: ``gradient_norm/<node>`` and ``update_ratio/<node>``;
- each text sample: the text, under ``samples``.

It is fed from the event path, which the trainer already batches a log group at a time,
never from inside a step; ``SummaryWriter`` queues the records and a background thread
writes them.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np

from graph_engine.source_text import markdown_verbatim, tensorboard_tag

INSTALL_HINT = 'pip install "rosenblatt[tensorboard]"'


class TensorBoardMissing(ValueError):
    """TensorBoard logs were asked for but the package is not installed; ``str()`` is one line."""


def require_tensorboard() -> None:
    """Raise :class:`TensorBoardMissing`, naming the extra to install, when it is absent."""
    if importlib.util.find_spec("tensorboard") is None:
        raise TensorBoardMissing(f"TensorBoard logs need the tensorboard package: {INSTALL_HINT}")


def _finite(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class TensorBoardLog:
    """A trainer event sink that writes TensorBoard summaries (see the module docstring)."""

    def __init__(self, log_dir: str | Path, purge_step: int | None = None):
        """``purge_step``: on resuming at step S, pass S + 1 so TensorBoard hides what an
        earlier attempt logged after the checkpoint."""
        require_tensorboard()
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise TensorBoardMissing(f"TensorBoard logs need a working tensorboard package "
                                     f"({error}): {INSTALL_HINT}") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(str(self.log_dir), purge_step=purge_step)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "step":
            self._scalar("train/loss", event["loss"], event["step"])
            self._scalar("train/lr", event["lr"], event["step"])
            if "teacher_forcing" in event:  # seq2seq under scheduled sampling
                self._scalar("train/teacher_forcing", event["teacher_forcing"], event["step"])
        elif kind == "epoch":
            for name, value in event["val"].items():
                self._scalar(tensorboard_tag("validation", name), value, event["step"])
        elif kind == "probe":
            self._probe(event["kind"], event["step"], event["data"])
        elif kind in ("finished", "failed"):
            self.writer.flush()

    def _scalar(self, tag: str, value: Any, step: int) -> None:
        if _finite(value):
            self.writer.add_scalar(tag, value, step)

    def _probe(self, kind: str, step: int, data: Any) -> None:
        if kind == "activations":
            for node_id, entry in data.items():
                self._histogram(tensorboard_tag("activations", node_id), entry, step)
                for name in ("dead_fraction", "saturated_fraction"):
                    if name in entry:
                        self._scalar(tensorboard_tag(name, node_id), entry[name], step)
        elif kind == "gradients":
            for node_id, norm in data["norms"].items():
                self._scalar(tensorboard_tag("gradient_norm", node_id), norm, step)
            for node_id, ratio in data["update_ratios"].items():
                self._scalar(tensorboard_tag("update_ratio", node_id), ratio, step)
        elif kind == "samples":
            self.writer.add_text("samples", markdown_verbatim(f"{data['prompt']}{data['text']}"), step)

    def _histogram(self, tag: str, entry: dict[str, Any], step: int) -> None:
        """A histogram from a probe's binned counts: values below and above the bins' range
        become one bucket each, so nothing measured is dropped."""
        counts = np.asarray(entry["counts"], dtype=np.float64)
        low, high = (float(v) for v in entry["range"])
        limits = list(np.linspace(low, high, len(counts) + 1)[1:])
        buckets = list(counts)
        below, above = float(entry.get("below", 0)), float(entry.get("above", 0))
        if below:
            limits.insert(0, low)
            buckets.insert(0, below)
        if above:
            limits.append(max(float(entry["max"]), high))
            buckets.append(above)
        total = float(sum(buckets))
        mean, std = entry.get("mean"), entry.get("std")
        if not total or not all(_finite(v) for v in (mean, std, entry.get("min"), entry.get("max"))):
            return
        self.writer.add_histogram_raw(
            tag, min=min(float(entry["min"]), low), max=max(float(entry["max"]), high), num=total,
            sum=mean * total, sum_squares=(std * std + mean * mean) * total,
            bucket_limits=limits, bucket_counts=buckets, global_step=step)

    def close(self) -> None:
        self.writer.close()
