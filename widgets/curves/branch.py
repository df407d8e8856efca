"""Where a branched run started: a line at its x = 0 labelled "from RUN at epoch N", and the
parent run's curves up to that point, shifted so that they lead into the branch's own.

A run started from another run's weights says so in its history (``RunHistory.branch``);
the parent's curves come from the earlier runs the panel already has, when it is one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg

from widgets.curves import style
from widgets.curves.plots import curve, points_line
from widgets.curves.run_curves import RunCurves

#: the parent's curves: quiet grey, behind the run's own
PARENT = "#9ca3af"


def branch_label(branch: dict[str, Any]) -> str:
    """``from digits-20261207-101500 at epoch 5`` (a file: its name, without an epoch)."""
    source = Path(str(branch.get("run") or branch.get("from") or "?")).name
    epoch = branch.get("epoch")
    return f"from {source}" + (f" at epoch {epoch}" if epoch is not None else "")


def parent_shift(branch: dict[str, Any], parent: RunCurves | None, mode: str) -> float | None:
    """How far the parent's x runs past the branch point in ``mode`` (step, epoch, time)."""
    epoch = branch.get("epoch")
    if epoch is None:
        return None
    if mode == "epoch":
        return float(epoch)
    record = None
    if parent is not None:
        record = next((r for r in parent.history.epochs if r.get("epoch") == epoch), None)
    if mode == "step":
        step = record.get("step") if record else branch.get("source_step")
        return None if step is None else float(step)
    return None if record is None else float(record.get("time", 0.0))


class BranchMark:
    """The branch line (on each plot, labelled on the loss plot) and the parent's curves."""

    def __init__(self, plots: tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]):
        self.loss_plot, self.metric_plot, _ = plots
        self.lines = []
        for index, plot in enumerate(plots):
            options = {}
            if index == 0:
                options = {"label": "", "labelOpts": {"position": 0.1, "color": style.MUTED_TEXT,
                                                      "anchors": [(-0.02, 1), (-0.02, 1)]}}
            line = pg.InfiniteLine(angle=90, movable=False, pen=style.dashed_pen(PARENT), **options)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self.parent_loss = curve(self.loss_plot, PARENT)
        self.parent_metric = points_line(self.metric_plot, PARENT, size=3)
        for item in (self.parent_loss, self.parent_metric):
            item.setZValue(-5)
        self.text = ""
        #: whether the parent's curves are drawn (it is among the earlier runs)
        self.parent_shown = False

    def show(self, branch: dict[str, Any] | None, parent: RunCurves | None, mode: str) -> None:
        """Draw the mark of ``branch`` (None: hide it) for the x axis ``mode``."""
        self.text = branch_label(branch) if branch else ""
        for line in self.lines:
            line.setVisible(branch is not None)
            line.setValue(0.0)
        if self.lines[0].label is not None:
            self.lines[0].label.setFormat(self.text)
        shift = parent_shift(branch, parent, mode) if branch else None
        self.parent_shown = parent is not None and shift is not None
        if not self.parent_shown:
            self.parent_loss.setData([], [])
            self.parent_metric.setData([], [])
            return
        x = parent.x[mode].values - shift
        keep = x <= 0
        self.parent_loss.setData(x[keep], parent.smoothed.values[keep])
        epoch_x = np.asarray(parent.epoch_x[mode]) - shift
        if parent.has_metric():
            at = epoch_x <= 0
            self.parent_metric.setData(epoch_x[at], np.asarray(parent.metric)[at])
        else:
            self.parent_metric.setData([], [])
