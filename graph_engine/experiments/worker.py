"""A sweep worker: claims queued trials and trains each in its own child process.

Up to ``jobs`` children run at once (by default as many as the cores that are free);
each gets its share of the cores for torch's threads. The worker alone talks to the
storage: it samples a claimed trial's values, builds the variant graph, starts the
child with the training process's ordinary entry point, reads its events (reporting
epoch metrics for pruning), and tells the storage how the trial ended. A trial that
crashes, goes NaN or is refused becomes FAIL with its reason, and the sweep goes on.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable

from graph_engine.analysis import analyze
from graph_engine.experiments import study as studies
from graph_engine.experiments.records import read_trial, write_trial
from graph_engine.experiments.spec import SweepSpec, apply_values, format_number
from graph_engine.model import Graph
from graph_engine.serialization import dumps
from graph_engine.training.control import TrainingControl
from graph_engine.training.settings import settings_from_dict

Sink = Callable[[dict[str, Any]], None]


def free_cores() -> int:
    """Cores not busy now (the 1-minute load subtracted), at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, min(cores, int(round(cores - load))))


def run_name(number: int, values: dict[str, Any], spec: SweepSpec) -> str:
    """``t003-act1=Tanh-lr=3.2e-3``: the trial number and what this trial varies."""
    parts = [f"t{number:03d}"]
    for variation in spec.variations:
        value = values.get(variation.target)
        shown = format_number(value) if isinstance(value, float) else str(value)
        parts.append(f"{variation.short_name()}={shown}")
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", "-".join(parts))[:120]


def _child(graph_json: str, settings: dict[str, Any], run_dir: str, connection: Any, control: Any,
           log_path: str, threads: int) -> None:
    """The trial's process: torch gets this trial's share of the cores, then it trains."""
    import torch

    from graph_engine.training.worker import train_in_child

    torch.set_num_threads(max(1, threads))
    train_in_child(graph_json, settings, run_dir, connection, control, log_path)


@dataclass
class Running:
    """One trial in flight."""

    trial: Any
    number: int
    values: dict[str, Any]
    run_dir: Path
    process: Any
    connection: Any
    control: TrainingControl
    params: int
    macs: int
    record: dict[str, Any]
    epochs: int
    metrics: dict[str, float] = field(default_factory=dict)
    first_step: tuple[int, float] | None = None
    last_step: tuple[int, float] | None = None
    outcome: str | None = None  # finished | failed | rejected | pruned
    reason: str = ""
    pruned: bool = False


class SweepWorker:
    """Runs trials of one study until its queue is empty (see the module docstring)."""

    def __init__(self, study: Any, spec: SweepSpec, graph: Graph, out_dir: str | Path,
                 jobs: int | None = None, sink: Sink | None = None, overrides: dict[str, Any] | None = None):
        self.study, self.spec, self.graph = study, spec, graph
        self.out_dir = Path(out_dir)
        self.jobs = max(1, jobs or free_cores())
        self.sink = sink or (lambda event: None)
        self.overrides = dict(overrides or {})
        self.running: list[Running] = []
        self.context = multiprocessing.get_context("spawn")
        self._stopping = False
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.threads = max(1, cores // self.jobs)

    def stop(self) -> None:
        """Stop every running trial at its next step; they are recorded as failed."""
        self._stopping = True
        for item in self.running:
            item.control.stop()

    def _fail_stale(self) -> None:
        """Trials of dead workers: failed in the storage (and queued again), and in their folders."""
        for trial in studies.fail_stale(self.study):
            run_dir = Path(trial.user_attrs.get("run_dir", ""))
            record = read_trial(run_dir) if run_dir.name else {}
            if record:
                write_trial(run_dir, {**record, "state": "failed", "reason": studies.STALE_REASON})

    def run(self) -> int:
        """Claim and run trials until none is left; returns how many this worker finished."""
        self._fail_stale()
        done = 0
        beat = 0.0
        while True:
            while not self._stopping and len(self.running) < self.jobs:
                trial = studies.claim(self.study)
                if trial is None:
                    break
                self._start(trial)
            if not self.running:
                # queue empty: wait while other workers' trials run, in case one dies and is queued again
                waiting = 0 if self._stopping or not studies.has_heartbeats(self.study) else \
                    studies.others_running(self.study)
                if not waiting:
                    return done
                self.sink({"type": "waiting", "running": waiting})
                time.sleep(studies.HEARTBEAT_SECONDS)
                self._fail_stale()
                continue
            if time.monotonic() - beat > studies.HEARTBEAT_SECONDS / 2:
                for item in self.running:
                    studies.heartbeat(self.study, item.trial)
                beat = time.monotonic()
            ready = wait([i.connection for i in self.running], timeout=1.0)
            for item in list(self.running):
                if item.connection in ready:
                    self._read(item)
                if item.outcome is not None or not item.process.is_alive() and not item.connection.poll():
                    self._end(item)
                    done += 1

    # -- one trial ---------------------------------------------------------------------
    def _start(self, trial: Any) -> None:
        values = {v.target: studies.suggest(trial, v) for v in self.spec.variations}
        name = run_name(trial.number, values, self.spec)
        run_dir = self.out_dir / "runs" / name
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("values", values)
        self.sink({"type": "trial_started", "number": trial.number, "name": name, "values": values})
        try:
            variant = apply_values(self.graph, values)
            analysis = analyze(variant)
            if analysis.errors:
                raise ValueError(f"the graph does not validate: {analysis.errors[0].node}: "
                                 f"{analysis.errors[0].message}")
            settings = settings_from_dict({**variant.training, **self.spec.settings}, **self.overrides).to_dict()
        except ValueError as error:
            self._tell_failed(trial, " ".join(str(error).split()), name, values)
            return
        receiver, sender = self.context.Pipe(duplex=False)
        control = TrainingControl()
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        log_path = str(run_dir.parent / f".{name}.log")
        process = self.context.Process(
            target=_child, args=(dumps(variant), settings, str(run_dir), sender, control, log_path, self.threads),
            name=f"trial-{trial.number}", daemon=True)
        process.start()
        sender.close()
        studies.heartbeat(self.study, trial)
        record = {"study": self.study.study_name, "number": trial.number, "values": values,
                  "params": analysis.total_params, "macs": analysis.total_macs, "state": "running",
                  "objectives": {}, "reason": ""}
        self.running.append(Running(trial, trial.number, values, run_dir, process, receiver, control,
                                    analysis.total_params, analysis.total_macs, record, settings["epochs"]))

    def _read(self, item: Running) -> None:
        try:
            while item.connection.poll():
                for event in item.connection.recv():
                    self._event(item, event)
        except (EOFError, OSError):
            if item.outcome is None:
                item.process.join(timeout=5)
                item.outcome, item.reason = "failed", (
                    f"the training process ended without a result (exit code {item.process.exitcode})")

    def _event(self, item: Running, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "started":
            write_trial(item.run_dir, item.record)
        elif kind == "step":
            point = (event["step"], event["time"])
            item.first_step = item.first_step or point
            item.last_step = point
        elif kind == "epoch":
            self._report(item, event)
            self.sink({"type": "trial_epoch", "number": item.number, "epoch": event["epoch"], "val": event["val"]})
        elif kind == "finished":
            item.metrics = dict(event.get("metrics") or {})
            if event.get("status") == "stopped" and not item.pruned:
                item.outcome, item.reason = "failed", "stopped with its worker"
            else:
                item.outcome = "pruned" if item.pruned else "finished"
        elif kind in ("failed", "rejected"):
            item.outcome, item.reason = "failed", str(event.get("message", kind))

    def _report(self, item: Running, event: dict[str, Any]) -> None:
        """Single objective on a validation metric: report it, and stop a trial worth pruning."""
        objectives = self.spec.objectives
        if len(objectives) != 1 or not objectives[0].name.startswith("val.") or not self.spec.prune:
            return
        value = event["val"].get(objectives[0].name[4:])
        if not isinstance(value, (int, float)) or not math.isfinite(value) or item.pruned:
            return
        item.trial.report(float(value), int(event["epoch"]))
        if int(event["epoch"]) < item.epochs and item.trial.should_prune():  # the last epoch is done anyway
            item.pruned = True
            item.control.stop()

    def _end(self, item: Running) -> None:
        self.running.remove(item)
        item.process.join(timeout=10)
        if item.process.is_alive():
            item.process.kill()
            item.process.join()
        item.connection.close()
        self._keep_log(item)
        if item.outcome in ("finished", "pruned"):
            objectives, missing = self._objectives(item)
            if missing:
                item.outcome, item.reason = "failed", missing
            else:
                item.record["objectives"] = objectives
        elif item.outcome is None:
            item.outcome = "failed"
            item.reason = item.reason or f"the training process ended (exit code {item.process.exitcode})"
        self._tell(item)

    @staticmethod
    def _keep_log(item: Running) -> None:
        """The child's stderr goes into its run folder (or stays beside it when none was made)."""
        log = item.run_dir.parent / f".{item.run_dir.name}.log"
        try:
            if item.run_dir.is_dir() and log.exists():
                os.replace(log, item.run_dir / "child.log")
            elif log.exists() and log.stat().st_size == 0:
                log.unlink()
        except OSError:
            pass

    def _objectives(self, item: Running) -> tuple[dict[str, float], str]:
        values: dict[str, float] = {}
        for objective in self.spec.objectives:
            name = objective.name
            if name.startswith("val."):
                value = item.metrics.get(name[4:])
            elif name == "params":
                value = item.params
            elif name == "macs":
                value = item.macs
            elif name in ("step_time", "steps_per_s"):
                value = None
                if item.first_step and item.last_step and item.last_step[0] > item.first_step[0]:
                    per_step = (item.last_step[1] - item.first_step[1]) / (item.last_step[0] - item.first_step[0])
                    value = per_step if name == "step_time" else 1.0 / per_step if per_step > 0 else None
            else:  # wall_time
                value = item.last_step[1] if item.last_step else None
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                return {}, f"objective {name} has no finite value ({value})"
            values[name] = float(value)
        return values, ""

    def _tell(self, item: Running) -> None:
        from optuna.trial import TrialState

        state = {"finished": "complete", "pruned": "pruned"}.get(item.outcome, "failed")
        item.record.update(state=state, reason=item.reason)
        if item.run_dir.exists():
            write_trial(item.run_dir, item.record)
        if state == "failed":
            self._tell_failed(item.trial, item.reason, item.run_dir.name, item.values, write=False)
            return
        values = [item.record["objectives"][o.name] for o in self.spec.objectives]
        if state == "pruned":
            self.study.tell(item.trial, state=TrialState.PRUNED)
        else:
            self.study.tell(item.trial, values)
        self.sink({"type": "trial_finished", "number": item.number, "state": state,
                   "objectives": item.record["objectives"], "name": item.run_dir.name, "reason": ""})

    def _tell_failed(self, trial: Any, reason: str, name: str, values: dict[str, Any], write: bool = True) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("reason", reason or "failed")
        self.study.tell(trial, state=TrialState.FAIL)
        self.sink({"type": "trial_finished", "number": trial.number, "state": "failed", "objectives": {},
                   "name": name, "reason": reason, "values": values})
