"""One run's curves in the shapes the plots draw, kept up to date by appending.

:class:`RunCurves` copies a :class:`RunHistory`'s new step rows into contiguous float64
buffers (the history's columns are strided views) and extends the smoothed loss with
only those rows, so a redraw of a long run costs the new points, not the whole run.
Epoch records are few and are re-read whenever their number changes.
"""

from __future__ import annotations

import numpy as np

from graph_engine.training.history import RunHistory
from widgets.curves.smoothing import Ema

#: x-axis modes: training step, fractional epoch, seconds since the run started
X_MODES = ("step", "epoch", "time")


class Growing:
    """A float64 array that grows by appending, with amortised doubling (and room to grow
    after a large first fill, such as a replayed run)."""

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(capacity)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def values(self) -> np.ndarray:
        """The values so far (a view: later appends never change it)."""
        return self._data[:self._size]

    def extend(self, values: np.ndarray) -> None:
        end = self._size + len(values)
        if end > len(self._data):
            grown = np.empty(max(end + end // 4, 2 * len(self._data)))
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:end] = values
        self._size = end

    def replace(self, values: np.ndarray) -> None:
        self._size = 0
        self.extend(values)


class RunCurves:
    """Per-step and per-epoch arrays of one run; :meth:`update` reads what is new."""

    def __init__(self, history: RunHistory, smoothing: float):
        self.history = history
        self.x = {mode: Growing() for mode in X_MODES}
        self.loss = Growing()
        self.smoothed = Growing()
        self.lr = Growing()
        self._ema = Ema(smoothing)
        #: every loss / learning rate so far is finite (pyqtgraph may then skip its check)
        self.all_finite = True
        self.lr_finite = True
        self._steps_per_epoch = 0.0
        self._epochs_seen = -1
        #: per epoch record: x per mode, validation loss, headline metric (NaN where absent)
        self.epoch_x = {mode: np.empty(0) for mode in X_MODES}
        self.val_loss = np.empty(0)
        self.metric = np.empty(0)

    def __len__(self) -> int:
        return len(self.loss)

    # -- reading the history --------------------------------------------------------------
    def update(self) -> tuple[bool, bool]:
        """Read new step rows and epoch records: (steps changed, epochs changed)."""
        steps_changed = self._update_steps()
        epochs_changed = len(self.history.epochs) != self._epochs_seen
        if epochs_changed:
            self._read_epochs()
        return steps_changed, epochs_changed

    def _update_steps(self) -> bool:
        series = self.history.steps
        start, end = len(self.loss), len(series)
        if end < start:  # the history was cleared under us: start again
            self._reset_steps()
            start = 0
        spe = self._epoch_length()
        rescale = spe != self._steps_per_epoch and start > 0
        self._steps_per_epoch = spe
        if rescale:
            self.x["epoch"].replace(self._fractional_epoch(self.x["step"].values,
                                                           series.column("epoch")[:start]))
        if end == start:
            return rescale
        step = series.column("step")[start:end]
        loss = series.column("loss")[start:end]
        self.x["step"].extend(step)
        self.x["epoch"].extend(self._fractional_epoch(step, series.column("epoch")[start:end]))
        self.x["time"].extend(series.column("time")[start:end])
        self.loss.extend(loss)
        lr = series.column("lr")[start:end]
        self.lr.extend(lr)
        self.lr_finite = self.lr_finite and bool(np.isfinite(lr).all())
        smoothed = self._ema.extend(loss)
        self.smoothed.extend(smoothed)
        self.all_finite = self.all_finite and bool(np.isfinite(smoothed).all())
        return True

    def _reset_steps(self) -> None:
        for buffer in (*self.x.values(), self.loss, self.smoothed, self.lr):
            buffer.replace(np.empty(0))
        self._ema = Ema(self._ema.alpha)
        self.all_finite = self.lr_finite = True

    def _epoch_length(self) -> float:
        """Steps per epoch: from the start event, else from the first epoch record (a
        replayed run folder has no start event), else unknown (0)."""
        history = self.history
        if history.steps_per_epoch:
            return float(history.steps_per_epoch)
        if history.epochs and history.epochs[0].get("epoch"):
            return history.epochs[0]["step"] / history.epochs[0]["epoch"]
        return 0.0

    def _fractional_epoch(self, step: np.ndarray, epoch: np.ndarray) -> np.ndarray:
        """Step / steps-per-epoch, so epoch e ends exactly at x = e; the whole epoch
        number when the epoch length is not known yet."""
        if self._steps_per_epoch:
            return step / self._steps_per_epoch
        return np.asarray(epoch, dtype=np.float64)

    def _read_epochs(self) -> None:
        records = self.history.epochs
        self._epochs_seen = len(records)
        headline = self.history.headline
        metric = headline[0] if headline else None
        self.epoch_x = {mode: np.asarray([r[mode] for r in records], dtype=np.float64)
                        for mode in X_MODES}
        self.val_loss = np.asarray([r["val"].get("loss", np.nan) for r in records], dtype=np.float64)
        self.metric = np.asarray([r["val"].get(metric, np.nan) if metric else np.nan
                                  for r in records], dtype=np.float64)

    def has_metric(self) -> bool:
        """Whether any epoch has a value of the headline metric (a run folder without its
        dataset record has no task, so no headline)."""
        return bool(np.isfinite(self.metric).any())

    # -- smoothing ---------------------------------------------------------------------
    @property
    def smoothing(self) -> float:
        return self._ema.alpha

    def set_smoothing(self, alpha: float) -> None:
        """Smooth the whole loss again with another factor (one vectorised pass)."""
        self._ema = Ema(alpha)
        self.smoothed.replace(self._ema.extend(self.loss.values))

    # -- what the plots and the hover read ----------------------------------------------
    def best_metric(self) -> tuple[float, int] | None:
        """(best headline value, its epoch) over the epochs so far."""
        headline = self.history.headline
        finite = np.isfinite(self.metric)
        if headline is None or not finite.any():
            return None
        values = np.where(finite, self.metric, -np.inf if headline[1] else np.inf)
        index = int(np.argmax(values) if headline[1] else np.argmin(values))
        return float(self.metric[index]), int(self.epoch_x["epoch"][index])

    def best_index(self) -> int | None:
        """Index of the history's best epoch (lowest validation loss) in the epoch arrays."""
        best = self.history.best_epoch
        if best is None:
            return None
        matches = np.flatnonzero(self.epoch_x["epoch"] == best)
        return int(matches[-1]) if len(matches) else None


def nearest(x: np.ndarray, value: float) -> int | None:
    """Index of the point of sorted ``x`` nearest to ``value`` (None when empty)."""
    n = len(x)
    if n == 0:
        return None
    right = int(np.searchsorted(x, value))
    if right <= 0:
        return 0
    if right >= n:
        return n - 1
    return right if x[right] - value < value - x[right - 1] else right - 1
