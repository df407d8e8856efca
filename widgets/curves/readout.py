"""The text under the plots: values at the hovered point, or the run's latest values.

Each value is preceded by a square in its curve's colour, so the readout doubles as a
legend for the metric and learning-rate plots.
"""

from __future__ import annotations

import html
from typing import Sequence

import numpy as np

from widgets.curves import style
from widgets.curves.axes import duration_text, step_text
from widgets.curves.run_curves import RunCurves, nearest
from widgets.curves.runs_list import run_name

#: which plot the mouse is over
LOSS_PLOT, METRIC_PLOT, LR_PLOT = range(3)

SEPARATOR = " &nbsp;·&nbsp; "


def number(value: float) -> str:
    return f"{value:.4g}" if np.isfinite(value) else "—"


def entry(color: str, name: str, value: float) -> str:
    return (f'<span style="color:{color}">■</span>&nbsp;{_unbroken(name)}&nbsp;'
            f'<b>{number(value)}</b>')


def muted(text: str) -> str:
    """Secondary text that wraps only between entries, never inside one."""
    return f'<span style="color:{style.MUTED_TEXT}">{_unbroken(text)}</span>'


def _unbroken(text: str) -> str:
    return html.escape(text).replace(" ", "&nbsp;")


def step_position(curves: RunCurves, index: int) -> str:
    """``step 120 · epoch 5.22 · 0:42`` of one training step."""
    return muted(f"step {step_text(curves.x['step'].values[index])} · "
                 f"epoch {curves.x['epoch'].values[index]:.2f} · "
                 f"{duration_text(curves.x['time'].values[index])}")


def epoch_position(curves: RunCurves, index: int) -> str:
    """``epoch 4 · step 92 · 0:42`` of one validation."""
    return muted(f"epoch {curves.epoch_x['epoch'][index]:.0f} · "
                 f"step {step_text(curves.epoch_x['step'][index])} · "
                 f"{duration_text(curves.epoch_x['time'][index])}")


def metric_name(curves: RunCurves) -> str:
    headline = curves.history.headline
    return headline[0].replace("_", " ") if headline else "metric"


class Readout:
    """Builds the readout for a hovered position and reports where the markers go."""

    def __init__(self, mode: str, current: RunCurves,
                 overlays: Sequence[tuple[RunCurves, str]]):
        self.mode = mode
        self.current = current
        self.overlays = overlays
        #: x of the hovered point (where the vertical line goes), or None
        self.x: float | None = None
        #: (x, y, colour) of each point to mark on the hovered plot
        self.points: list[tuple[float, float, str]] = []

    def at(self, plot: int, x: float) -> str:
        if plot == METRIC_PLOT:
            return self._epoch_values(x, lambda c: c.metric, metric_name(self.current), style.METRIC)
        if plot == LR_PLOT:
            return self._step_values(x, [("lr", lambda c: c.lr.values, style.LR)])
        text = self._step_values(x, [("loss", lambda c: c.loss.values, style.RAW_LOSS),
                                     ("EMA", lambda c: c.smoothed.values, style.SMOOTH_LOSS)])
        index = nearest(self.current.epoch_x[self.mode], x)
        if index is not None:
            value = self.current.val_loss[index]
            text += SEPARATOR + entry(style.VAL_LOSS, "val loss", value)
            self.points.append((self.current.epoch_x[self.mode][index], value, style.VAL_LOSS))
        return text

    def _step_values(self, x: float, curves) -> str:
        current = self.current
        index = nearest(current.x[self.mode].values, x)
        if index is None:
            return ""
        self.x = float(current.x[self.mode].values[index])
        parts = []
        for name, values, color in curves:
            value = float(values(current)[index])
            parts.append(entry(color, name, value))
            self.points.append((self.x, value, color))
        name, values, _ = curves[-1]
        for other, color in self.overlays:
            other_index = nearest(other.x[self.mode].values, self.x)
            if other_index is not None:
                value = float(values(other)[other_index])
                parts.append(entry(color, run_name(other.history), value))
                self.points.append((other.x[self.mode].values[other_index], value, color))
        return step_position(current, index) + "<br>" + SEPARATOR.join(parts)

    def _epoch_values(self, x: float, values, name: str, color: str) -> str:
        current = self.current
        index = nearest(current.epoch_x[self.mode], x)
        if index is None:
            return ""
        self.x = float(current.epoch_x[self.mode][index])
        value = float(values(current)[index])
        parts = [entry(color, name, value)]
        self.points.append((self.x, value, color))
        for other, other_color in self.overlays:
            other_index = nearest(other.epoch_x[self.mode], self.x)
            if other_index is not None:
                other_value = float(values(other)[other_index])
                parts.append(entry(other_color, run_name(other.history), other_value))
                self.points.append((other.epoch_x[self.mode][other_index], other_value, other_color))
        return epoch_position(current, index) + "<br>" + SEPARATOR.join(parts)


def summary(current: RunCurves) -> str:
    """The latest values of the run (shown while the mouse is elsewhere)."""
    position, values = "", []
    if len(current):
        last = len(current) - 1
        position = step_position(current, last)
        values.append(entry(style.SMOOTH_LOSS, "loss (EMA)", current.smoothed.values[last]))
    if len(current.val_loss):
        values.append(entry(style.VAL_LOSS, "val loss", current.val_loss[-1]))
        values.append(entry(style.METRIC, metric_name(current), current.metric[-1]))
    if len(current):
        values.append(entry(style.LR, "lr", current.lr.values[-1]))
    best = current.best_index()
    if best is not None:
        position += SEPARATOR + muted(f"best: epoch {current.epoch_x['epoch'][best]:.0f}")
    return position + "<br>" + SEPARATOR.join(values)
