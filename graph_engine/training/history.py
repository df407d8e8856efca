"""What a run has said so far, kept for plotting: the one model every training panel reads.

A :class:`RunHistory` is fed the trainer's events (live from the child process, or
replayed from a run folder's ``metrics.jsonl``) and keeps them in shapes views can
draw at once: growing float64 arrays for per-step series, a list of epoch records,
and the latest result of each probe kind plus per-node series over time. It never
imports Qt; ``version`` and ``changed`` tell a view whether to redraw.

A replayed folder may be damaged (a line cut short, edited by hand, written by another
version): each line that cannot be read is left out and becomes one ``damage`` reason,
so a list of earlier runs can say "damaged" and why instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from graph_engine.training import runs
from graph_engine.task_names import HEADLINE

#: status values: idle → starting → running ⇄ paused → finished | failed | crashed | rejected
ACTIVE = ("starting", "running", "paused")
#: what a stored record must hold to be drawn: key → "number" or "object"
RECORD_FIELDS: dict[str, dict[str, str]] = {
    "step": {"step": "number", "epoch": "number", "loss": "number", "lr": "number", "time": "number"},
    "epoch": {"step": "number", "epoch": "number", "time": "number", "val": "object"},
    "finished": {"status": "text", "message": "text"},
    "failed": {"message": "text"},
    "branch": {"from": "text", "text": "text"},
    "pace": {"step": "number"},
    "probe": {"kind": "text", "step": "number", "data": "object"},
}
#: the probes a run folder keeps (metrics.jsonl): the epoch-end text samples and translations,
#: small and not to be had again without the weights of that epoch; the others are live views only
STORED_PROBES = ("samples", "translations")
#: what a "pace" record or event carries (graph_engine.training.pace.pace_record)
PACE_FIELDS = ("step", "rate", "best_rate", "cpu", "threads", "starved", "probe_share", "probe_seconds", "probes",
               "probe_budget")
_KINDS = {"number": (int, float), "object": dict, "text": str}
_KIND_NAMES = {"number": "a number", "object": "an object", "text": "text"}


class Series:
    """Columns of float64 that grow by appending rows; arrays are views, no copies."""

    def __init__(self, columns: Iterable[str], capacity: int = 1024):
        self.columns = tuple(columns)
        self._data = np.empty((max(16, capacity), len(self.columns)), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, *values: float) -> None:
        if self._size == len(self._data):
            grown = np.empty((len(self._data) * 2, len(self.columns)), dtype=np.float64)
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size] = values
        self._size += 1

    def column(self, name: str) -> np.ndarray:
        """One column's values so far (a read-only view: valid until the next append)."""
        view = self._data[:self._size, self.columns.index(name)]
        view.flags.writeable = False
        return view

    def last(self, name: str) -> float | None:
        return float(self._data[self._size - 1, self.columns.index(name)]) if self._size else None


@dataclass
class ProbeResult:
    """The newest result of one probe kind and the training step it reflects."""

    step: int
    data: Any


@dataclass
class RunHistory:
    """Everything the panels show about one run (see the module docstring)."""

    run_dir: Path | None = None
    status: str = "idle"
    message: str = ""
    #: node the trainer named when it stopped on a NaN/Inf (highlighted on the canvas)
    failed_node: str | None = None
    task: str = ""
    dataset: str = ""
    device: str = ""
    steps_per_epoch: int = 0
    total_steps: int = 0
    #: how many validation samples there are (the probes' sample index runs below it)
    validation_samples: int | None = None
    #: one sample's shape, when known (a replayed run's dataset.json): (C, H, W) for images
    sample_shape: tuple[int, ...] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: per step: step, epoch (1-based, the epoch the step belongs to), loss, lr, time (s)
    steps: Series = field(default_factory=lambda: Series(("step", "epoch", "loss", "lr", "time")))
    #: one dict per finished epoch: epoch, step, time, lr, best, val {loss, accuracy, ...}
    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    #: newest result per probe kind: gradients, activations, feature_maps, filters,
    #: confusion, segmentation, samples, translations and encoder_states (seq2seq)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    #: node → Series(step, grad_norm, update_ratio)
    gradients: dict[str, Series] = field(default_factory=dict)
    #: the training process's latest pace: step, rate, best_rate (steps/s), cpu (cores' worth of CPU
    #: time per second), threads, starved, and the probes' probe_share, probe_seconds, probes,
    #: probe_budget (see graph_engine.training.pace; older run folders have no pace records)
    pace: dict[str, Any] = field(default_factory=dict)
    #: the nodes activation statistics are measured on, in the network's order
    activation_nodes: list[str] = field(default_factory=list)
    #: node → list of (step, counts, (lo, hi)) histograms over time
    histograms: dict[str, list[tuple[int, np.ndarray, tuple[float, float]]]] = field(default_factory=dict)
    #: node → Series(step, mean, std, dead_fraction, saturated_fraction) (NaN where n/a)
    activation_series: dict[str, Series] = field(default_factory=dict)
    #: (step, prompt, text) of each text sample generated during training
    samples: list[tuple[int, str, str]] = field(default_factory=list)
    #: seq2seq under scheduled sampling: the teacher-forcing probability per step
    teacher_forcing: Series = field(default_factory=lambda: Series(("step", "probability")))
    #: a run started from another's weights: its ``branch`` record (from, run, epoch, source_step,
    #: text: what was carried); None for fresh weights
    branch: dict[str, Any] | None = None
    #: why parts of a replayed run folder were left out, one line each (empty when whole)
    damage: list[str] = field(default_factory=list)
    version: int = 0
    #: what changed since :meth:`take_changes` was last called ("steps", "epochs", probe kinds,
    #: "status")
    changed: set[str] = field(default_factory=set)

    # -- feeding --------------------------------------------------------------------
    def apply_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: dict[str, Any]) -> None:
        """Take one trainer event (see graph_engine.training.trainer for the protocol)."""
        kind = event.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event)
            self.version += 1

    def take_changes(self) -> set[str]:
        """What changed since the last call (and forget it)."""
        changed, self.changed = self.changed, set()
        return changed

    def _status(self, status: str, message: str | None = None) -> None:
        self.status = status
        if message is not None:
            self.message = message
        self.changed.add("status")

    def _on_started(self, event: dict[str, Any]) -> None:
        self.run_dir = Path(event["run_dir"])
        self.task, self.dataset, self.device = event["task"], event["dataset"], event["device"]
        self.steps_per_epoch, self.total_steps = event["steps_per_epoch"], event["total_steps"]
        self.validation_samples = event.get("validation_samples")
        self.activation_nodes = list(event.get("activation_nodes") or [])
        self._status("running", "")

    def _on_step(self, event: dict[str, Any]) -> None:
        self.steps.append(event["step"], event["epoch"], event["loss"], event["lr"], event["time"])
        forcing = event.get("teacher_forcing")
        if isinstance(forcing, (int, float)):
            self.teacher_forcing.append(event["step"], forcing)
        self.changed.add("steps")

    def _on_epoch(self, event: dict[str, Any]) -> None:
        self.epochs.append(event)
        if event.get("best"):
            self.best_epoch = event["epoch"]
        self.changed.add("epochs")

    def _on_branch(self, event: dict[str, Any]) -> None:
        self.branch = dict(event)
        self.changed.add("branch")

    def _on_paused(self, event: dict[str, Any]) -> None:
        self._status("paused", f"paused at step {event['step']}")

    def _on_resumed(self, event: dict[str, Any]) -> None:
        self._status("running", "")

    def _on_finished(self, event: dict[str, Any]) -> None:
        epochs = event.get("epoch", 0)
        plural = "" if epochs == 1 else "s"
        texts = {"completed": f"finished all {epochs} epoch{plural}",
                 "early_stopping": f"stopped early after {epochs} epoch{plural}: {event['message']}",
                 "stopped": f"stopped by request at step {event.get('step', 0):,} (epoch {epochs})"}
        self._status("finished", texts.get(event["status"], f"{event['status']}: {event['message']}"))

    def _on_failed(self, event: dict[str, Any]) -> None:
        self.failed_node = event.get("node")
        self._status("failed", event["message"])

    def _on_rejected(self, event: dict[str, Any]) -> None:
        self._status("rejected", event["message"])

    def _on_crashed(self, event: dict[str, Any]) -> None:
        self._status("crashed", event["message"])

    def _on_pace(self, event: dict[str, Any]) -> None:
        self.pace = {k: event[k] for k in PACE_FIELDS if k in event}
        self.changed.add("pace")

    def _on_checkpoint(self, event: dict[str, Any]) -> None:
        self.changed.add("checkpoint")

    def _on_probe(self, event: dict[str, Any]) -> None:
        kind, step, data = event["kind"], event["step"], event["data"]
        previous = self.probes.get(kind)
        if kind == "activations" and previous is not None:
            # a probe measures the watched node and a rotating few others: keep each node's
            # newest, in the network's order
            merged = {**previous.data, **data}
            order = {n: i for i, n in enumerate(self.activation_nodes)}
            data = dict(sorted(merged.items(), key=lambda item: order.get(item[0], len(order))))
        self.probes[kind] = ProbeResult(step, data)
        self.changed.add(kind)
        if kind == "gradients":
            ratios = data.get("update_ratios", {})
            for node_id, norm in data.get("norms", {}).items():
                series = self.gradients.setdefault(node_id, Series(("step", "norm", "ratio"), 256))
                series.append(step, norm, ratios.get(node_id, math.nan))
        elif kind == "activations":
            for node_id, entry in data.items():
                series = self.activation_series.setdefault(
                    node_id, Series(("step", "mean", "std", "dead_fraction", "saturated_fraction"), 256))
                series.append(step, _number(entry.get("mean")), _number(entry.get("std")),
                              _number(entry.get("dead_fraction")), _number(entry.get("saturated_fraction")))
                counts = np.asarray(entry["counts"], dtype=np.float64)
                self.histograms.setdefault(node_id, []).append((step, counts, tuple(entry["range"])))
        elif kind == "samples":
            self.samples.append((step, data["prompt"], data["text"]))

    # -- reading --------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def damaged(self) -> str | None:
        """The first reason this run's folder is damaged (and how many more); None when whole."""
        if not self.damage:
            return None
        more = len(self.damage) - 1
        return self.damage[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")

    @property
    def step(self) -> int:
        last = self.steps.last("step")
        return int(last) if last is not None else 0

    @property
    def headline(self) -> tuple[str, bool] | None:
        """(metric name, higher is better) of the task's main validation metric."""
        return HEADLINE.get(self.task)

    @property
    def probe_share(self) -> float | None:
        """The share of the training time the probes have taken so far: the newest of the live
        probe-time event and the pace records (a run opened from its folder has only these);
        None when not reported (probes off, or a folder written before pace records)."""
        timing = self.probes.get("probe_time")
        recorded = self.pace.get("probe_share")
        if timing is not None and (not isinstance(recorded, (int, float)) or timing.step >= self.pace.get("step", -1)):
            return float(timing.data["share"])
        return float(recorded) if isinstance(recorded, (int, float)) and not isinstance(recorded, bool) else None

    def epoch_times(self) -> np.ndarray:
        return np.asarray([e["time"] for e in self.epochs], dtype=np.float64)

    def rate(self, window: int = 200) -> float | None:
        """Training steps per second over the last ``window`` steps (None before two steps)."""
        n = len(self.steps)
        if n < 2:
            return None
        steps, times = self.steps.column("step"), self.steps.column("time")
        first = max(0, n - window)
        elapsed = times[-1] - times[first]
        return float((steps[-1] - steps[first]) / elapsed) if elapsed > 0 else None

    def time_left(self) -> float | None:
        """Seconds to the last step at the recent rate (None when unknown)."""
        rate = self.rate()
        if not rate or not self.total_steps:
            return None
        return max(0.0, (self.total_steps - self.step) / rate)

    # -- replaying a run folder -------------------------------------------------------
    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> "RunHistory":
        """The history of a finished (or still running) run, from its metrics file.

        Of the probes only the epoch-end text samples and translations are stored (STORED_PROBES):
        a replayed history has curves and those. What cannot be read is left out and said in
        ``damage``; this never raises on a bad file."""
        run_dir = Path(run_dir)
        history = cls(run_dir=run_dir)
        history.settings = history._side_file(run_dir / "settings.json")
        dataset = history._side_file(run_dir / "dataset.json")
        history.task, history.dataset = str(dataset.get("task", "")), str(dataset.get("name", ""))
        history._describe_samples(dataset)
        history.status = "incomplete"  # a finished or failed record below says otherwise
        metrics = run_dir / "metrics.jsonl"
        if metrics.exists():
            history._replay_file(metrics)
        return history

    def _describe_samples(self, dataset: dict[str, Any]) -> None:
        """Sample shape and validation count from dataset.json, where they are well formed."""
        shape, validation = dataset.get("sample_shape"), dataset.get("validation")
        if isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            self.sample_shape = tuple(shape)
        if isinstance(validation, int) and not isinstance(validation, bool) and validation >= 0:
            self.validation_samples = validation

    @classmethod
    def unreadable(cls, run_dir: Path, reason: str) -> "RunHistory":
        """A run folder that could not be replayed at all: listed, with the reason."""
        return cls(run_dir=run_dir, status="incomplete", damage=[reason])

    def replay(self, record: dict[str, Any]) -> str | None:
        """Take one stored record; what is wrong with it (then it is left out), else None."""
        kind = str(record.get("type"))
        article = "an" if kind[:1] in tuple("aeiou") else "a"
        for key, wanted in RECORD_FIELDS.get(kind, {}).items():
            if key not in record:
                return f"{article} {kind} record without '{key}'"
            value = record[key]
            if not isinstance(value, _KINDS[wanted]) or isinstance(value, bool):
                return f"{article} {kind} record whose '{key}' is not {_KIND_NAMES[wanted]}"
        if kind == "probe":
            problem = _stored_probe_problem(record)
            if problem is not None:
                return f"a probe record {problem}"
        try:
            self.apply(record)
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # a kind not checked above
            return f"{article} {kind} record that cannot be read ({type(error).__name__}: {error})"
        return None

    def _replay_file(self, path: Path) -> None:
        """Every line of a metrics file; a torn last line (a run still writing) is skipped."""
        try:
            lines = path.read_bytes().split(b"\n")
        except OSError as error:
            self.damage.append(f"{path.name} cannot be read ({error.strerror or error})")
            return
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            where = f"{path.name} line {number}"
            record = _parsed(raw, being_written=number == len(lines))
            if isinstance(record, str):
                self.damage.append(f"{where} {record}")
            elif record is not None:
                reason = self.replay(record)
                if reason is not None:
                    self.damage.append(f"{where}: {reason}")

    def _side_file(self, path: Path) -> dict[str, Any]:
        """settings.json or dataset.json as a dict; a missing one is empty, a bad one damage."""
        try:
            data = runs.read_json(path)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            why = "not JSON" if isinstance(error, ValueError) else (error.strerror or str(error))
            self.damage.append(f"{path.name} cannot be read ({why})")
            return {}
        if not isinstance(data, dict):
            self.damage.append(f"{path.name} cannot be read (not a JSON object)")
            return {}
        return data


def _parsed(raw: bytes, being_written: bool) -> dict[str, Any] | str | None:
    """One metrics line's record, or why it is none ("is not JSON"); None for the torn
    last line of a file still being written, which is no damage."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except ValueError:
        return None if being_written else "is not JSON"
    return record if isinstance(record, dict) else "is not a JSON object"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def list_runs(root: str | Path, graph_name: str | None = None) -> list[Path]:
    """Run folders under ``root`` (newest first), only those of ``graph_name`` when given."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for candidate in root.iterdir():
        if not (candidate / "metrics.jsonl").is_file():
            continue
        if graph_name is not None:
            try:
                name = runs.read_json(candidate / "graph.json").get("name")
            except (OSError, ValueError, AttributeError):
                continue
            if name != graph_name:
                continue
        found.append(candidate)
    return sorted(found, key=lambda p: (p / "metrics.jsonl").stat().st_mtime, reverse=True)


def settings_difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Settings that differ between two runs: key → (value in a, value in b)."""
    keys = sorted(set(a) | set(b))
    return {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}


def _stored_probe_problem(record: dict[str, Any]) -> str | None:
    """What keeps a stored probe record from being shown (None: it can be)."""
    kind, data = record["kind"], record["data"]
    if kind not in STORED_PROBES:
        return f"of kind {kind!r}, which runs do not store"
    if kind == "samples" and not all(isinstance(data.get(key), str) for key in ("prompt", "text")):
        return "whose samples' prompt or text is not text"
    if kind == "translations":
        rows = data.get("rows")
        if not isinstance(rows, list) or not all(
                isinstance(row, dict) and isinstance(row.get("source"), str) and isinstance(row.get("output"), str)
                and isinstance(row.get("references", []), list)
                and all(isinstance(r, str) for r in row.get("references", [])) for row in rows):
            return "whose rows are not a list of source, output and reference texts"
    return None
