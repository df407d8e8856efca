"""The training loop: one job from (graph, dataset, settings), reporting plain-data events.

The same loop serves the CLI, the GUI's child process and the tests: it talks only
through ``sink(event: dict)``, writes its run folder as it goes, and polls a
:class:`TrainingControl` once per step for pause, resume and stop. Under torchrun it is
one rank of a data-parallel job: :mod:`graph_engine.training.distributed` holds what
that changes (the shard, the agreements between ranks, rank 0 alone writing).

Events (``event["type"]``): started, step, epoch, probe, pace, checkpoint, paused, resumed,
finished, failed. Every event is a dict of plain values (numbers, strings, lists,
numpy arrays), so it can cross a process queue.

The loop keeps its own counters and delegates the rest: checkpoints (best, last,
resume) to :class:`~graph_engine.training.checkpointer.Checkpointer`, naming a NaN's
node to :mod:`~graph_engine.training.nonfinite`, and the probes, which see only a
:class:`~graph_engine.training.probing.ProbeContext`. The graph arrives as (or becomes)
a :class:`~graph_engine.training.snapshot.RunSnapshot`, analysed once for everything.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from graph_engine.compiler import compile_graph
from graph_engine.data.base import SEQ2SEQ, DataError, Dataset
from graph_engine.model import Graph
from graph_engine.serialization import save_graph
from graph_engine.atomic import remove_stale_temporaries
from graph_engine.training import run_folder, runs
from graph_engine.training.checkpointer import Checkpointer
from graph_engine.training.control import TrainingControl
from graph_engine.training.distributed import Distributed, NullLog
from graph_engine.training.failures import ERROR_FILE, failure_text, one_line
from graph_engine.training.history import STORED_PROBES
from graph_engine.training.nonfinite import (
    NonFiniteError, gradient_diagnosis, loss_diagnosis, weights_diagnosis,
)
from graph_engine.training.optimizers import build_optimizer, param_groups
from graph_engine.training.pace import PaceMonitor, pace_record
from graph_engine.training.probe_schedule import ProbeSchedule
from graph_engine.training.probing import ProbeContext, RunProbes
from graph_engine.training.schedule import lr_factor
from graph_engine.training.settings import TrainingSettings, settings_from_dict
from graph_engine.training.snapshot import RunSnapshot
from graph_engine.training.tensorboard_log import TensorBoardLog, require_tensorboard
from graph_engine.training.transfer import TransferReport, load_source
from graph_engine.training.transfer import carry_weights as carry_weights_into
from graph_engine.training.seq2seq import Seq2SeqTask, is_encoder_decoder, seq2seq_ends
from graph_engine.training.seq2seq import fit_problems as seq2seq_fit_problems
from graph_engine.training.tasks import (
    PERCEPTRON, MetricAccumulator, balanced_weights, fit_problems, graph_ends, loss_fn, perceptron_decision,
    predicted_classes, prepare_targets,
)

Sink = Callable[[dict[str, Any]], None]


class FitError(DataError):
    """The dataset and the graph do not fit each other (said before any step)."""


def occupied_folder_text(run_dir: Path) -> str:
    """Why a new run cannot start in ``run_dir``, and the way on (a folder holding a run that
    stopped before its first checkpoint is started again by ``--resume``)."""
    if (run_dir / "graph.json").is_file():
        if (run_dir / "checkpoints" / "last.safetensors").exists():
            return f"{run_dir} already holds a run: resume it (train --resume {run_dir}) or choose a new run folder"
        return (f"{run_dir} holds a run stopped before its first checkpoint: start it again there "
                f"(train --resume {run_dir}) or choose a new run folder")
    return f"{run_dir} already holds files: choose a new run folder"


def clear_started_run(run_dir: Path) -> None:
    """Remove what a run that never reached a checkpoint wrote, before it starts again."""
    for name in ("metrics.jsonl", "error.txt", "checkpoints/best.safetensors",
                 "checkpoints/best.json"):
        (run_dir / name).unlink(missing_ok=True)


@dataclass
class RunResult:
    """How a run ended."""

    status: str  # completed | early_stopping | stopped | failed
    run_dir: Path
    step: int
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    node: str | None = None


def _ignore(event: dict[str, Any]) -> None:
    pass


class Trainer:
    """Trains a graph on a dataset; see the module docstring for the protocol."""

    def __init__(self, graph: Graph | RunSnapshot, dataset: Dataset, settings: TrainingSettings | None = None,
                 sink: Sink | None = None, run_dir: str | Path | None = None,
                 control: TrainingControl | None = None, probes: bool = True,
                 distributed: Distributed | None = None, init_map: dict[str, str] | None = None,
                 carry_weights: bool = True):
        """``settings.init_from`` (with ``init_map`` for renamed nodes) starts the weights from
        another run's where node id and shape match; ``carry_weights=False`` skips that (a
        resumed run restores its own checkpoint)."""
        # a snapshot (a copy, analysed once): edits to the live document do not reach the run
        self.snapshot = RunSnapshot.of(graph)
        # with blocks, the expansion's analysis: probes and checks reach the layers inside them
        self.graph, self.analysis = self.snapshot.graph, self.snapshot.analysis.compiled()
        self.settings = settings or settings_from_dict(self.graph.training)
        self.dataset = dataset
        self.distributed = distributed or Distributed()
        self.sink = (sink or _ignore) if self.distributed.is_main else _ignore
        self.control = control or TrainingControl()
        self.ends = graph_ends(self.graph, self.analysis)
        #: an encoder–decoder's source and decoder Inputs (the seq2seq task), else None
        self.seq2seq_ends = seq2seq_ends(self.graph, self.analysis) if is_encoder_decoder(self.analysis) else None
        self.task = dataset.task if self.settings.task == "auto" else self.settings.task
        self._check_fit()
        self.device = self.distributed.start(self.settings.device)
        torch.manual_seed(self.settings.seed)
        self.model = compile_graph(self.graph, self.device, analysis=self.analysis)
        #: what was carried from ``settings.init_from`` (None: fresh weights)
        self.transfer: TransferReport | None = None
        if carry_weights and self.settings.init_from:
            self.transfer = carry_weights_into(self.model, load_source(self.settings.init_from),
                                               set(self.analysis.graph.nodes), self.graph.name, init_map)
        self.seq2seq = (Seq2SeqTask(self.model, self.graph, self.analysis, self.seq2seq_ends, dataset, self.settings)
                        if self.seq2seq_ends is not None else None)
        self.distributed.seed(self.settings.seed)
        #: what the training step calls: the model (an encoder–decoder's whole step, see
        #: seq2seq.Seq2SeqStep), or its DDP wrapper under torchrun (probes, evaluation and
        #: checkpoints use ``self.model``, whose state_dict keys stay the graph's)
        self.step_model = self.distributed.wrap(self.model if self.seq2seq is None else self.seq2seq.step_module)
        self.optimizer = build_optimizer(self.settings, param_groups(self.model, self.analysis.graph))
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.learning_rate * group.get("lr_mult", 1.0)
        self._place_data()
        #: on the CPU reading the loss costs nothing, so a NaN is caught before the update and
        #: its node named exactly; on a GPU that would stall the queue, so it is read per group
        #: (and so it is under torchrun, where the ranks must fail together, at the flush)
        self._check_each_step = self.device.type == "cpu" and not self.distributed.enabled
        self._rate: float | None = None
        self._hinge = self.settings.perceptron_loss == "hinge"
        self._weight = (balanced_weights(self.task, self.y_train, dataset.num_classes)
                        if self.settings.class_weighting == "balanced" else None)
        self.run_dir = self.distributed.share(Path(run_dir) if run_dir else
                                              runs.default_run_dir(self.graph.name))
        self.step = 0
        self.epoch = 0
        self.batch_index = 0
        self.best: dict[str, Any] = {"loss": math.inf, "epoch": None, "metrics": {}}
        self.stale_epochs = 0
        self.checkpoints = Checkpointer(self.run_dir, self.model, self.optimizer, self.analysis,
                                        self.distributed, self.device, self._emit,
                                        self.settings.checkpoint_every)
        self.probes = RunProbes(self._probe_context()) if probes and self.distributed.is_main else None
        self.tensorboard: TensorBoardLog | None = None
        # on the CPU the probes' share is one of the CPU time the run gets: on a machine shared
        # with other work a wall-clock second holds little training, and a probe would take a
        # larger share of the work done; on a GPU the trainer's own clock (which stops while paused)
        self.probe_schedule = ProbeSchedule(self.settings.probe_every, self.settings.probe_unit,
                                            self.settings.probe_budget / 100.0,
                                            clock=time.process_time if self.device.type == "cpu" else self._elapsed)
        #: whether the run gets the CPU it needs ("pace" events; see training/pace.py)
        self.pace = PaceMonitor(torch.get_num_threads(), on_cpu=self.device.type == "cpu")
        self._last_pace: dict[str, Any] = {}
        self._resumed = False
        #: resumed with no checkpoint yet: trained again from step 0 in the same folder
        self.restarted = False
        self._elapsed_before = 0.0
        self._clock = time.perf_counter()
        if len(self.x_val) == 0:
            raise FitError(f"{dataset.name} is too small to hold out a validation set; use more data")

    def _check_fit(self) -> None:
        """Refuse data that does not fit the graph, before any device or model is made."""
        if (self.task == SEQ2SEQ) != (self.seq2seq_ends is not None) or (
                self.task == SEQ2SEQ and self.dataset.task != SEQ2SEQ):
            raise FitError(f"{self.dataset.name} does not fit {self.graph.name!r}: the seq2seq task needs "
                           "sequence-to-sequence data and a graph with a source Input and a decoder Input")
        if self.task == SEQ2SEQ:
            problems = seq2seq_fit_problems(self.dataset, self.seq2seq_ends)
        else:
            problems = fit_problems(self.task, self.dataset, self.ends)
        if problems:
            raise FitError(f"{self.dataset.name} does not fit {self.graph.name!r}: " + "; ".join(problems))
        if self.settings.tensorboard:
            require_tensorboard()

    def _place_data(self) -> None:
        """The dataset's tensors on the device, targets shaped for the task; the epoch length."""
        dataset = self.dataset
        self.x_train = dataset.x_train.to(self.device)
        self.y_train = prepare_targets(self.task, dataset.y_train).to(self.device)
        self.x_val = dataset.x_val.to(self.device)
        self.y_val = prepare_targets(self.task, dataset.y_val).to(self.device)
        samples, size = self.distributed.shard_size(len(self.x_train)), self.settings.batch_size
        self.steps_per_epoch = max(1, math.ceil(samples / size) - (1 if samples % size == 1 and samples > 1 else 0))
        self.log_every = self.settings.log_every

    def _probe_context(self) -> ProbeContext:
        """What the probes may see of this run (never the trainer itself)."""
        return ProbeContext(
            model=self.model, analysis=self.analysis, ends=self.ends, x_val=self.x_val, y_val=self.y_val,
            task=self.task, class_names=self.dataset.class_names, vocabulary=self.dataset.vocabulary,
            feature_map_nodes=tuple(self.settings.feature_map_nodes), seed=self.settings.seed,
            emit=self._emit, requests=self.control.requests, seq2seq=self.seq2seq,
            x_train=self.x_train, y_train=self.y_train)

    # -- resuming ---------------------------------------------------------------------
    @classmethod
    def resume(cls, run_dir: str | Path,
               dataset_loader: Callable[[RunSnapshot, TrainingSettings], Dataset],
               sink: Sink | None = None, control: TrainingControl | None = None,
               epochs: int | None = None, probes: bool = True, distributed: Distributed | None = None,
               tensorboard: bool | None = None) -> "Trainer":
        """Continue a run from its last checkpoint: same folder, step count, optimizer and curves.

        ``dataset_loader`` gets the run's snapshot (``load_dataset_for`` takes it as it is).
        Under torchrun every rank reads the folder, so it must be on a shared file system,
        and the number of processes must be the one the run started with."""
        run_dir = Path(run_dir)
        graph = run_folder.read_graph(run_dir)
        settings = run_folder.read_settings(run_dir, epochs=epochs, tensorboard=tensorboard)
        restart = not (run_dir / "checkpoints" / "last.safetensors").exists()
        if not restart:  # a damaged checkpoint is refused before the data is loaded
            last = run_dir / "checkpoints" / "last"
            run_folder.read_meta(last)
            path = str(last.with_suffix(".safetensors"))
            run_folder.check_finite(run_folder.model_state(run_folder.read_tensors(path), path), path)
        if distributed is None or distributed.is_main:
            for folder in (run_dir, run_dir / "checkpoints"):
                remove_stale_temporaries(folder)  # a kill during a write leaves its temporary
        snapshot = RunSnapshot.of(graph, copy=False)
        trainer = cls(snapshot, dataset_loader(snapshot, settings), settings, sink, run_dir, control, probes,
                      distributed, carry_weights=restart)  # a restart begins at step 0, as a new run
        if restart:  # stopped before its first checkpoint: start it again, in its own folder
            trainer.restarted = True
        else:
            trainer._continue_from(trainer.checkpoints.restore())
        return trainer

    def _continue_from(self, meta: dict[str, Any]) -> None:
        """Take the counters of the checkpoint just restored; trim the curves past it."""
        self.distributed.seed(self.settings.seed + meta["step"])
        self.step, self.epoch, self.batch_index = meta["step"], meta["epoch"], meta["batch_index"]
        self.best = meta["best"]
        self.best["loss"] = math.inf if self.best["loss"] is None else self.best["loss"]
        self.stale_epochs = meta["stale_epochs"]
        self._elapsed_before = float(meta.get("elapsed", 0.0))
        if self.distributed.is_main:
            runs.truncate_metrics(self.run_dir / "metrics.jsonl", self.step)
            runs.write_json(self.run_dir / "settings.json", self.settings.to_dict())  # e.g. more epochs
        self._resumed = True

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> RunResult:
        """Train until the epochs are done, early stopping, a stop request or a failure.

        Every failure becomes a ``failed`` event and record with a one-line message; only
        bad arguments found before the first step (the folder, the data) raise."""
        self.writer = self.checkpoints.start()
        try:
            self.distributed.on_main(self._prepare_folder)
            if self.settings.tensorboard and self.distributed.is_main:
                self.tensorboard = TensorBoardLog(self.run_dir / "tensorboard",
                                                  self.step + 1 if self._resumed else None)
        except BaseException:
            self.writer.close()
            raise
        self.metrics_log = (runs.MetricsLog(self.run_dir / "metrics.jsonl") if self.distributed.is_main
                            else NullLog())
        self._pending: list[tuple[int, int, float, float, torch.Tensor, dict[str, float]]] = []
        try:
            return self._run()
        except KeyboardInterrupt:
            # it may land mid-step: keep the last consistent checkpoint rather than save now
            self._flush_quietly()
            return self._finish("stopped", "interrupted", save=False)
        except NonFiniteError as failure:
            return self._fail(str(failure), failure.node)
        except Exception as error:  # out of memory, a disk that is full, a layer refusing a batch, a bug
            return self._fail(self._failure_text(error), None)
        finally:
            try:
                self.writer.close()
            finally:
                self.metrics_log.close()
                if self.tensorboard is not None:
                    self.tensorboard.close()

    def _run(self) -> RunResult:
        settings = self.settings
        self._emit({"type": "started", "run_dir": str(self.run_dir), "task": self.task,
                    "dataset": self.dataset.describe(), "device": str(self.device),
                    "steps_per_epoch": self.steps_per_epoch,
                    "total_steps": self.steps_per_epoch * settings.epochs, "resumed": self._resumed,
                    "step": self.step, "epoch": self.epoch,
                    "parameters": self.analysis.total_params,
                    "validation_samples": len(self.x_val),
                    "activation_nodes": self.probes.activation_nodes if self.probes is not None else [],
                    "world_size": self.distributed.world_size})
        if self.transfer is not None and not self._resumed:
            record = self.transfer.record()
            self.metrics_log.write(record)
            self._emit(record)
        self._clock = time.perf_counter() - self._elapsed_before
        self.model.train()
        while self.epoch < settings.epochs:
            order = self._order(self.epoch)
            while self.batch_index < self.steps_per_epoch:
                if self.distributed.stop_agreed(self._should_stop(), at_group_start=not self._pending):
                    self._flush()
                    return self._finish("stopped", "stopped by request")
                loss, extras = self._train_step(order)
                self._pending.append((self.step, self.epoch, self._lr(), self._elapsed(), loss, extras))
                if len(self._pending) >= self.log_every:
                    self._flush()
            self._flush()
            self.batch_index = 0
            self.epoch += 1
            if self._end_epoch():
                return self._finish("early_stopping",
                                    f"no better validation loss for {self.stale_epochs} epochs")
        return self._finish("completed", "done")

    def _elapsed(self) -> float:
        return time.perf_counter() - self._clock

    def _failure_text(self, error: Exception) -> str:
        """One line; a programming error's traceback goes to the run folder (one file per rank)."""
        rank = self.distributed.rank
        name = ERROR_FILE if not rank else f"error-rank{rank}.txt"
        return failure_text(error, self.run_dir, f"training run, step {self.step}", name)

    def _fail(self, message: str, node: str | None) -> RunResult:
        """Record a failure; the checkpoints keep the last good state."""
        self._flush_quietly()
        try:
            self.checkpoints.save_best()
            self.writer.flush()
        except Exception as error:  # noqa: BLE001 (the failure being reported matters more)
            message = f"{message} (and the best checkpoint could not be written: {one_line(error)})"
        record = {"type": "failed", "message": message, "node": node, "step": self.step,
                  "epoch": self.epoch}
        self.metrics_log.write(record)
        self._emit(record)
        return RunResult("failed", self.run_dir, self.step, self.epoch, dict(self.best["metrics"]),
                         message, node)

    def _flush_quietly(self) -> None:
        if self.distributed.enabled:  # other ranks may be elsewhere: no collective, drop the group
            self._pending.clear()
            return
        try:
            self._flush()
        except Exception:  # noqa: BLE001 (already failing: keep what can be kept)
            self._pending.clear()

    def _train_step(self, order: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        size = self.settings.batch_size
        start, end = self.batch_index * size, (self.batch_index + 1) * size
        if len(order) - end == 1:  # a batch of one sample would break BatchNorm: join it
            end = len(order)
        index = order[start:end]
        x, y = self.x_train[index], self.y_train[index]
        self._set_lr(self.step)
        extras: dict[str, float] = {}
        if self.seq2seq is not None:
            loss, forcing = self.seq2seq.loss(self.step_model, x, y, self.step)
            if self.settings.scheduled_sampling != "off":
                extras["teacher_forcing"] = forcing
        else:
            output = self.step_model(x)  # in train mode: evaluation and probes restore the mode they found
            loss = loss_fn(self.task, output, y, self._hinge, self._weight)
        if self._check_each_step and not math.isfinite(loss.item()):
            inputs = x if self.seq2seq is None else self.seq2seq_ends.arguments(
                x, self.seq2seq.targets(y, self.step)[:, :-1])
            raise NonFiniteError(*loss_diagnosis(self.model, self.analysis, inputs, loss, self.step + 1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        probing = self.probes is not None and self.probe_schedule.due(self.step)
        if probing:
            began = self.probe_schedule.clock()
            self.probes.before_update()
            before_cost = self.probe_schedule.clock() - began
        if self.settings.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
            if self._check_each_step and not math.isfinite(norm.item()):
                raise NonFiniteError(*gradient_diagnosis(self.model, self.analysis, self.step + 1))
        self.optimizer.step()
        self.step += 1
        self.batch_index += 1
        if probing:
            self.probe_schedule.begin()
            self.probes.after_update(self.step)
            self.probe_schedule.end(before_cost)
            self._emit_probe_time()
        return loss.detach(), extras

    def _emit_probe_time(self) -> None:
        """What the probes have cost so far, for the Training panel ("probes 3.8 % of time")."""
        schedule = self.probe_schedule
        self._emit({"type": "probe", "kind": "probe_time", "step": self.step, "data": {
            "share": schedule.used_share(), "seconds": schedule.spent, "last": schedule.last_cost,
            "budget": schedule.share, "probes": schedule.probes}})

    def _flush(self) -> None:
        """Emit buffered step records: one device→host transfer for the lot."""
        pending = self._pending
        if not pending:
            return
        # averaged over the ranks under torchrun: every rank sees the same numbers and so
        # takes the same decisions (a NaN on one rank stops all of them at this flush)
        values = self.distributed.mean(torch.stack([p[4] for p in pending])).tolist()
        for (step, epoch, lr, elapsed, _, extras), loss in zip(pending, values):
            if not math.isfinite(loss):
                pending.clear()
                raise NonFiniteError(*weights_diagnosis(self.model, self.analysis,
                                                        f"the loss became {loss} at step {step}"))
            record = {"type": "step", "step": step, "epoch": epoch + 1, "loss": loss, "lr": lr,
                      "time": elapsed, **extras}
            self.metrics_log.write(record)
            self._emit(record)
        pending.clear()
        pace = self.pace.tick(self.step)
        if pace is not None:
            self._record_pace(pace)

    def _record_pace(self, measurement: dict[str, Any] | None = None) -> None:
        """A "pace" record (training/pace.py): event and metrics.jsonl line, so the probes'
        share and whether the run was starved survive in its folder."""
        if measurement is not None:
            self._last_pace = measurement
        record = pace_record(self.step, self._elapsed(), self._last_pace,
                             self.probe_schedule if self.probes is not None else None)
        self.metrics_log.write(record)
        self._emit(record)

    def _end_epoch(self) -> bool:
        """Validate, checkpoint, probe; True when early stopping says stop."""
        metrics, extras, save_due = self._validate()
        if not math.isfinite(metrics["loss"]):
            raise NonFiniteError(*weights_diagnosis(
                self.model, self.analysis, f"the validation loss became {metrics['loss']} after epoch {self.epoch}"))
        improved = metrics["loss"] < self.best["loss"]
        if improved:
            self.best = {"loss": metrics["loss"], "epoch": self.epoch, "metrics": metrics}
            self.stale_epochs = 0
        else:
            self.stale_epochs += 1
        record = {"type": "epoch", "step": self.step, "epoch": self.epoch, "val": metrics,
                  "best": improved, "time": self._elapsed(), "lr": self._lr()}
        self.metrics_log.write(record)
        self._emit(record)
        if self.probes is not None:
            began = self.probe_schedule.clock()
            self.probes.at_epoch_end(self.step, extras)
            self.probe_schedule.add(self.probe_schedule.clock() - began)
            self._emit_probe_time()
        self._record_pace()  # at least one per epoch: a short run's folder has one too
        if improved and self.settings.keep_best and self.distributed.is_main:
            self.checkpoints.keep_best(self._progress())  # in memory; written with the next "last"
        if save_due:
            self.checkpoints.save_best()  # best first: "last" names it, so it must never be the older file
            self.checkpoints.save_last(self._progress())
        patience = self.settings.early_stopping_patience
        return bool(patience) and self.stale_epochs >= patience and self.epoch < self.settings.epochs

    def _validate(self) -> tuple[dict[str, float], dict[str, torch.Tensor], bool]:
        """Validation metrics, their extras and whether a checkpoint is due. Under torchrun
        rank 0 measures the whole validation set and decides, and every rank follows."""
        metrics, extras = self.evaluate() if self.distributed.is_main else ({}, {})
        due = self.checkpoints.due()
        metrics, due = self.distributed.share((metrics, due))
        return metrics, extras, due

    def evaluate(self) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        """Validation loss and metrics (eval mode, batched); extras keep the predictions."""
        accumulator = MetricAccumulator(self.task, self.dataset.num_classes)
        predictions = []
        was_training = self.model.training
        self.model.eval()
        size = max(self.settings.batch_size, 256)
        if self.seq2seq is not None:
            with torch.no_grad():
                metrics, extras = self.seq2seq.evaluate(self.x_val, self.y_val, size)
            self.model.train(was_training)
            return metrics, extras
        with torch.no_grad():
            for start in range(0, len(self.x_val), size):
                x, y = self.x_val[start:start + size], self.y_val[start:start + size]
                output = self.model(x)
                predicted = ((perceptron_decision(output) > 0).long() if self.task == PERCEPTRON
                             else predicted_classes(self.task, output))
                accumulator.add(output, y, loss_fn(self.task, output, y, self._hinge, self._weight),
                                None if self.task == PERCEPTRON else predicted)
                predictions.append(predicted)
            metrics = accumulator.result()
            if self.task == PERCEPTRON:  # the training points still on the wrong side: 0 = converged
                metrics["misclassified"] = float(sum(
                    int((perceptron_decision(self.model(self.x_train[i:i + size])) != self.y_train[i:i + size]).sum())
                    for i in range(0, len(self.x_train), size)))
        self.model.train(was_training)
        extras = {"predictions": torch.cat(predictions) if predictions else torch.empty(0)}
        return metrics, extras

    # -- helpers ----------------------------------------------------------------------
    def _order(self, epoch: int) -> torch.Tensor:
        """The epoch's sample order: a function of (seed, epoch) alone, so resuming repeats it."""
        generator = torch.Generator().manual_seed(self.settings.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.x_train), generator=generator)
        return self.distributed.shard(order).to(self.device)

    def _lr(self) -> float:
        """The run's rate (a layer with an ``lr_mult`` learns at this times its multiplier)."""
        return self._rate if self._rate is not None else self.settings.learning_rate

    def _set_lr(self, step: int) -> None:
        rate = self.settings.learning_rate * lr_factor(self.settings, step, self.steps_per_epoch)
        if rate != self._rate:
            self._rate = rate
            for group in self.optimizer.param_groups:
                group["lr"] = rate * group.get("lr_mult", 1.0)

    def _should_stop(self) -> bool:
        if self.control.paused:
            self._flush()  # the curves show every step up to the pause
            self._emit({"type": "paused", "step": self.step})
            paused_at = time.perf_counter()
            self.control.wait_while_paused()
            # the run's clock measures training: a pause moves it on, so rates stay true
            self._clock += time.perf_counter() - paused_at
            self.pace.restart()
            if not self.control.stop_requested:
                self._emit({"type": "resumed", "step": self.step})
        return self.control.stop_requested

    def _emit(self, event: dict[str, Any]) -> None:
        self.sink(event)
        if self.tensorboard is not None:
            self.tensorboard(event)
        if event.get("type") == "probe" and event.get("kind") in STORED_PROBES:
            log = getattr(self, "metrics_log", None)  # (none before the run's folder is made)
            if log is not None:
                log.write(event)  # a few hundred characters an epoch: a replay shows them too

    def _prepare_folder(self) -> None:
        """Make the run folder; its description files are written in the background."""
        if self._resumed:
            return
        if self.restarted:
            clear_started_run(self.run_dir)
        elif self.run_dir.exists() and any(self.run_dir.iterdir()):
            raise FitError(occupied_folder_text(self.run_dir))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer.call(save_graph, self.graph, self.run_dir / "graph.json")  # the snapshot: never edited
        if self.seq2seq is not None:
            source, target = self.seq2seq.source_vocab, self.seq2seq.target_vocab
            self.writer.call(runs.write_json, self.run_dir / "vocabularies.json", {
                "source": None if source is None else source.to_dict(), "target": target.to_dict(),
                "reverse_source": bool(self.dataset.extra.get("reverse_source")),
                "source_input": self.seq2seq_ends.source_id, "decoder_input": self.seq2seq_ends.decoder_id})
        self.writer.call(runs.write_json, self.run_dir / "settings.json", self.settings.to_dict())
        self.writer.call(runs.write_json, self.run_dir / "dataset.json", {
            "name": self.dataset.name, "source": self.dataset.source, "task": self.task,
            "num_classes": self.dataset.num_classes, "class_names": self.dataset.class_names,
            "vocabulary": self.dataset.vocabulary, "sample_shape": list(self.dataset.sample_shape),
            "train": len(self.x_train), "validation": len(self.x_val),
            **{k: self.dataset.extra[k].tolist() for k in ("feature_mean", "feature_std")
               if k in self.dataset.extra}})

    def _progress(self) -> dict[str, Any]:
        """The counters a checkpoint records beside the tensors, as of now."""
        best = dict(self.best)
        best["loss"] = None if math.isinf(best["loss"]) else best["loss"]
        return {"step": self.step, "epoch": self.epoch, "batch_index": self.batch_index,
                "best": best, "stale_epochs": self.stale_epochs, "task": self.task,
                "elapsed": self._elapsed(), "world_size": self.distributed.world_size}

    def _finish(self, status: str, message: str, save: bool = True) -> RunResult:
        self.checkpoints.save_best()
        if save:
            self.checkpoints.save_last(self._progress())
        self.writer.flush()
        metrics = dict(self.best["metrics"])
        if not self.distributed.is_main:  # rank 0 reports; the others only end in step
            return RunResult(status, self.run_dir, self.step, self.epoch, metrics, message)
        best_weights = self.checkpoints.best_weights
        if self.settings.keep_best and best_weights is not None and status != "stopped":
            self.model.load_state_dict(best_weights)
        else:
            metrics, _ = self.evaluate()
        record = {"type": "finished", "status": status, "message": message, "step": self.step,
                  "epoch": self.epoch, "metrics": metrics, "best_epoch": self.best["epoch"]}
        self.metrics_log.write(record)
        self._emit(record)
        return RunResult(status, self.run_dir, self.step, self.epoch, metrics, message)
