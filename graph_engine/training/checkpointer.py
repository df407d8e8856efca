"""A run's checkpoints: snapshots of its state, the best one and the last one, and resuming.

The best state is kept in memory when validation improves and written just before
the next "last", so "last" never names a best file older than itself. "last" is never
written with non-finite weights: the run stops instead and the previous "last" stays
the good state. Writes happen on the :class:`~graph_engine.training.runs.CheckpointWriter`'s
thread; the snapshot is taken (copied) at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import fx

from graph_engine.analysis import Analysis
from graph_engine.data.base import DataError
from graph_engine.training import run_folder, runs
from graph_engine.training.distributed import Distributed
from graph_engine.training.nonfinite import NonFiniteError, non_finite_weights, weights_diagnosis

Snapshot = tuple[dict[str, torch.Tensor], dict[str, Any]]
Emit = Callable[[dict[str, Any]], None]


class Checkpointer:
    """See the module docstring. ``progress`` dicts are the trainer's counters (step, epoch,
    position in the epoch, best so far, ...): they become each checkpoint's metadata."""

    def __init__(self, run_dir: Path, model: fx.GraphModule, optimizer: torch.optim.Optimizer,
                 analysis: Analysis, distributed: Distributed, device: torch.device, emit: Emit,
                 every_s: float):
        self.folder = run_dir / "checkpoints"
        self.model, self.optimizer, self.analysis = model, optimizer, analysis
        self.distributed, self.device, self.emit, self.every_s = distributed, device, emit, every_s
        self.writer: runs.CheckpointWriter | None = None
        #: the best weights so far (model state_dict keys), loaded back when a run ends
        self.best_weights: dict[str, torch.Tensor] | None = None
        self._best: Snapshot | None = None
        self._last_saved: float | None = None
        #: the step "last" was written at (None: not yet in this process)
        self._last_step: int | None = None

    def start(self) -> runs.CheckpointWriter:
        """Open the background writer (the run folder's other files queue on it too)."""
        self.writer = runs.CheckpointWriter()
        return self.writer

    def due(self) -> bool:
        """Whether "last" is due: never written yet, or ``every_s`` seconds ago."""
        return self._last_saved is None or time.monotonic() - self._last_saved >= self.every_s

    def snapshot(self, progress: dict[str, Any]) -> Snapshot:
        """Copies of everything a checkpoint holds, as of now."""
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        tensors, optimizer_meta = runs.snapshot_checkpoint(self.model, self.optimizer, rng)
        return tensors, {**progress, "optimizer": optimizer_meta}

    def keep_best(self, progress: dict[str, Any]) -> None:
        """Validation improved: keep this state in memory (written with the next "last")."""
        self._best = self.snapshot(progress)
        self.best_weights = {k[len("model."):]: v for k, v in self._best[0].items()
                             if k.startswith("model.")}

    def save_best(self) -> None:
        """Write the best state kept in memory, if it changed since the last write."""
        if self._best is not None:
            self._write("best", self._best)
            self._best = None

    def save_last(self, progress: dict[str, Any]) -> None:
        """Write the state as "last"; raises NonFiniteError rather than save broken weights.

        Checked on every rank: DDP keeps their weights equal, so they agree. Nothing is
        written when "last" already holds this step (a run that ends right after the epoch
        end that saved it): only a step changes the weights and the optimizer."""
        if progress["step"] == self._last_step:
            return
        if non_finite_weights(self.model, self.analysis) is not None:
            raise NonFiniteError(*weights_diagnosis(self.model, self.analysis,
                                                    f"not saving step {progress['step']}"))
        if self.distributed.is_main:
            self._write("last", self.snapshot(progress))
            self._last_saved = time.monotonic()
        self._last_step = progress["step"]

    def _write(self, which: str, snapshot: Snapshot) -> None:
        if not self.distributed.is_main or self.writer is None:
            return
        tensors, meta = snapshot
        stem = self.folder / which
        self.writer.submit(stem, tensors, meta)
        self.emit({"type": "checkpoint", "path": str(stem.with_suffix(".safetensors")),
                   "which": which, "step": meta["step"], "epoch": meta["epoch"]})

    def restore(self) -> dict[str, Any]:
        """Load "last" into the model, optimizer and RNG (and the best weights); its metadata.

        Every file is checked first (``run_folder``): a damaged one is a RunFolderError naming it.
        Under torchrun the number of processes must be the one the run started with."""
        stem = self.folder / "last"
        path = str(stem.with_suffix(".safetensors"))
        state, optimizer_state, rng, meta = runs.load_checkpoint(stem, self.device)
        processes = meta.get("world_size", 1)
        if processes != self.distributed.world_size:
            raise DataError(f"{self.folder.parent} was trained by {processes} process(es): resume it "
                            f"with as many (now {self.distributed.world_size})")
        run_folder.load_weights(self.model, state, path)
        try:
            self.optimizer.load_state_dict(optimizer_state)
            torch.set_rng_state(rng["cpu"])
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as error:
            raise run_folder.RunFolderError(
                f"{path}: the optimizer's or the random generator's state does not fit "
                f"({type(error).__name__}: {' '.join(str(error).split())})") from None
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
        best = self.folder / "best"
        if best.with_suffix(".safetensors").exists():
            best_path = str(best.with_suffix(".safetensors"))
            weights = run_folder.model_state(run_folder.read_tensors(best_path, self.device), best_path)
            run_folder.check_fit(self.model, weights, best_path)
            run_folder.check_finite(weights, best_path)
            self.best_weights = weights
        return meta
