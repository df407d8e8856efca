"""The curves panel: a run's loss, headline metric and learning rate, live.

It draws a :class:`RunHistory` and earlier runs to compare with; it never trains or
changes anything. :meth:`CurvesPanel.refresh` is meant for the app's redraw timer: it
returns at once when the history's version has not moved, and otherwise hands pyqtgraph
only views of buffers that grew by the new steps.
"""

from __future__ import annotations

import numpy as np

from pathlib import Path
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from graph_engine.training.history import RunHistory
from widgets.curves import style
from widgets.curves.branch import BranchMark
from widgets.curves.plots import CurvePlots, curve, points_line, right_view
from widgets.curves.readout import Readout, summary
from widgets.curves.run_curves import X_MODES, RunCurves
from widgets.curves.runs_list import EarlierRunsList

EMPTY_TEXT = "Start a run to see its curves"
WAITING_TEXT = "Waiting for the first training step…"
#: the combo's entries, in X_MODES order
X_MODE_NAMES = ("step", "epoch", "wall time")
#: the slider's resolution: smoothing = value / SLIDER_SCALE, up to 0.999
SLIDER_SCALE = 1000
DEFAULT_SMOOTHING = 0.9


class _Overlay:
    """An earlier run: its curves, colour, check state and (while checked) plot items."""

    def __init__(self, curves: RunCurves, color: str):
        self.curves = curves
        self.color = color
        self.checked = False
        self.items: dict[str, pg.PlotDataItem] = {}


class CurvesPanel(QWidget):
    """Loss, validation and learning-rate curves of the current run and earlier ones."""

    #: a finished earlier run's folder (Path): "Branch from this run" on its row
    branch_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._curves: RunCurves | None = None
        self._seen_version = -1
        self._listed_for: tuple | None = None
        self._overlays: list[_Overlay] = []
        #: runs ticked in the runs table: listed first and overlaid whatever the earlier runs are
        self._pinned: list[RunHistory] = []
        self._earlier: list[RunHistory] = []
        self._listed: list[_Overlay] = []  # the overlays the list shows, in its row order
        self._x_mode = "step"
        self._smoothing = DEFAULT_SMOOTHING
        self._hovering = False
        self._build_controls()
        self._build_plots()
        self.runs_list = EarlierRunsList()
        self.runs_list.checked_changed.connect(self._on_run_checked)
        self.runs_list.branch_requested.connect(
            lambda row: self.branch_requested.emit(self._listed[row].curves.history.run_dir))
        self.runs_list.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._stack)
        splitter.addWidget(self.runs_list)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._controls)
        layout.addWidget(splitter, 1)
        self._show_state()

    # -- construction ---------------------------------------------------------------
    def _build_controls(self) -> None:
        self.x_mode_combo = QComboBox()
        self.x_mode_combo.addItems(X_MODE_NAMES)
        self.x_mode_combo.setToolTip("What the shared x axis counts")
        self.x_mode_combo.currentIndexChanged.connect(self._on_x_mode)
        self.log_y_check = QCheckBox("Log loss")
        self.log_y_check.setToolTip("Logarithmic y axis for the loss plot")
        self.log_y_check.toggled.connect(self._on_log_y)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, SLIDER_SCALE - 1)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * SLIDER_SCALE))
        self.smoothing_slider.setMinimumWidth(60)
        self.smoothing_slider.setToolTip("Exponential moving average of the training loss "
                                         "(0 = raw, 0.999 = heavy)")
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.smoothing_label = QLabel(f"{DEFAULT_SMOOTHING:.3f}")
        metrics = self.smoothing_label.fontMetrics()
        self.smoothing_label.setMinimumWidth(metrics.horizontalAdvance("0.000"))
        row = QHBoxLayout()
        row.setContentsMargins(2, 0, 2, 0)
        row.setSpacing(6)
        row.addWidget(QLabel("x:"))
        row.addWidget(self.x_mode_combo)
        row.addSpacing(6)
        row.addWidget(self.log_y_check)
        row.addSpacing(6)
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.smoothing_slider, 1)
        row.addWidget(self.smoothing_label)
        self._controls = row

    def _build_plots(self) -> None:
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.installEventFilter(self)
        plots = self.plots = CurvePlots(self.plot_widget)
        self.loss_plot, self.metric_plot, self.lr_plot = plots.all
        self.raw_curve = curve(plots.loss, style.RAW_LOSS, "train")
        self.smooth_curve = curve(plots.loss, style.SMOOTH_LOSS, "EMA")
        self.val_loss_curve = points_line(plots.loss, style.VAL_LOSS, "val")
        self.metric_curve = points_line(plots.metric, style.METRIC)
        self.lr_curve = curve(plots.lr, style.LR)
        # scheduled sampling: the teacher-forcing probability, 0..1 on the lr plot's right axis
        self.forcing_view = right_view(plots.lr, "teacher forcing", style.TEACHER_FORCING)
        self.forcing_curve = pg.PlotDataItem(pen=style.pen(style.TEACHER_FORCING), connect="finite")
        self.forcing_view.addItem(self.forcing_curve)
        self.best_marker, self.best_point = plots.best_marker, plots.best_point
        self.branch_mark = BranchMark(plots.all)
        self.hover_lines, self.hover_points = plots.hover_lines, plots.hover_points
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.readout.setContentsMargins(4, 0, 4, 2)
        # two lines (position, values); more only where the panel is too narrow for them
        self.readout.setMinimumHeight(2 * self.readout.fontMetrics().lineSpacing() + 2)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(f"color: {style.MUTED_TEXT}; background: {style.BACKGROUND};")
        plots_page = QWidget()
        page_layout = QVBoxLayout(plots_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(2)
        page_layout.addWidget(self.plot_widget, 1)
        page_layout.addWidget(self.readout)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(plots_page)

    # -- public API -----------------------------------------------------------------------
    @property
    def history(self) -> RunHistory | None:
        return self._history

    @property
    def x_mode(self) -> str:
        return self._x_mode

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @property
    def log_y(self) -> bool:
        return self.log_y_check.isChecked()

    @property
    def overlay_items(self) -> dict[Path | None, dict[str, pg.PlotDataItem]]:
        """Run folder → {"loss", "val_loss", "metric", "lr"} items of each overlaid run."""
        return {o.curves.history.run_dir: o.items for o in self._overlays if o.checked}

    def set_history(self, history: RunHistory | None) -> None:
        """Show another run (None: the empty state)."""
        if history is self._history:
            self.refresh()
            return
        self._history = history
        self._curves = RunCurves(history, self._smoothing) if history is not None else None
        self._seen_version = -1
        for item in (self.raw_curve, self.smooth_curve, self.val_loss_curve, self.metric_curve,
                     self.lr_curve, self.best_point, self.forcing_curve):
            item.setData([], [])
        self.best_marker.hide()
        self._clear_hover()
        self._fill_runs_list()
        self.refresh()
        self._draw_branch()
        self._show_state()

    def refresh(self) -> None:
        """Draw what is new since the last call; nothing at all when nothing is."""
        history, curves = self._history, self._curves
        if history is None or curves is None or history.version == self._seen_version:
            return
        self._seen_version = history.version
        steps_changed, epochs_changed = curves.update()
        if steps_changed:
            self._draw_steps()
        if epochs_changed:
            self._draw_epochs()
        if (history.run_dir, history.settings) != self._listed_for:
            self._fill_runs_list()
        if (history.branch is not None) != bool(self.branch_mark.text) or epochs_changed:
            self._draw_branch()
        self._show_state()
        if (steps_changed or epochs_changed) and not self._hovering:
            self.readout.setText(summary(curves))

    def set_earlier_runs(self, runs: Sequence[RunHistory], checked: Sequence[Path] | None = None) -> None:
        """Runs to compare with (replayed run folders); the current run's own folder is
        left out. Runs checked before stay checked, or ``checked`` names the ones to check.
        Pinned runs (:meth:`pin_runs`) come first and stay checked."""
        self._earlier = list(runs)
        checked = set(checked) if checked is not None else {o.curves.history.run_dir for o in self._overlays
                                                             if o.checked}
        pinned = {h.run_dir for h in self._pinned}
        checked |= pinned
        runs = [*self._pinned, *(r for r in runs if r.run_dir not in pinned)]
        for overlay in self._overlays:
            self._remove_overlay_items(overlay)
        self._overlays = []
        for index, history in enumerate(runs):
            curves = RunCurves(history, self._smoothing)
            curves.update()
            overlay = _Overlay(curves, style.earlier_run_color(index))
            overlay.checked = history.run_dir is not None and history.run_dir in checked
            self._overlays.append(overlay)
        self._fill_runs_list()
        for overlay in self._overlays:
            if overlay.checked:
                self._draw_overlay(overlay)
        self._draw_branch()
        self._show_state()

    def pin_runs(self, runs: Sequence[RunHistory]) -> None:
        """Overlay exactly these runs from the runs table (ticked there), beside the earlier runs."""
        unpinned = {h.run_dir for h in self._pinned}
        self._pinned = list(runs)
        still = {o.curves.history.run_dir for o in self._overlays if o.checked} - unpinned
        self.set_earlier_runs(self._earlier, checked=list(still))

    def set_x_mode(self, mode: str) -> None:
        """"step", "epoch" (fractional) or "time" (seconds since the run started)."""
        if mode not in X_MODES:
            raise ValueError(f"x mode must be one of {X_MODES}, not {mode!r}")
        self.x_mode_combo.setCurrentIndex(X_MODES.index(mode))

    def set_smoothing(self, smoothing: float) -> None:
        """EMA factor of the training loss, 0 … 0.999 (steps of 0.001)."""
        self.smoothing_slider.setValue(round(min(max(smoothing, 0.0), 0.999) * SLIDER_SCALE))

    # -- drawing ------------------------------------------------------------------------
    def _draw_steps(self) -> None:
        curves, mode = self._curves, self._x_mode
        x = curves.x[mode].values
        finite = curves.all_finite
        self.raw_curve.setData(x, curves.loss.values, skipFiniteCheck=finite)
        self.smooth_curve.setData(x, curves.smoothed.values, skipFiniteCheck=finite)
        self.lr_curve.setData(x, curves.lr.values, skipFiniteCheck=curves.lr_finite)
        self._fit_constant_lr(curves.lr.values)
        self._draw_teacher_forcing(x)

    def _draw_teacher_forcing(self, x: np.ndarray) -> None:
        """The teacher-forcing probability of a scheduled-sampling run (right axis, 0..1)."""
        forcing = self._history.teacher_forcing if self._history is not None else None
        if forcing is None or not len(forcing) or not len(x):
            self.forcing_curve.setData([], [])
            self.lr_plot.hideAxis("right")
            return
        steps = self._history.steps.column("step")
        where = np.interp(forcing.column("step"), steps[:len(x)], x)
        self.forcing_curve.setData(where, forcing.column("probability"))
        self.lr_plot.showAxis("right")

    @property
    def teacher_forcing_shown(self) -> bool:
        """Whether the teacher-forcing curve is drawn (a scheduled-sampling run)."""
        data = self.forcing_curve.xData
        return self.lr_plot.getAxis("right").isVisible() and data is not None and len(data) > 0

    def _fit_constant_lr(self, lr: np.ndarray) -> None:
        """A constant rate would sit mid-plot on a ±0.5 axis: show it from 0 to above it."""
        vb = self.lr_plot.vb
        finite = lr[np.isfinite(lr)] if len(lr) else lr
        if len(finite) and float(finite.min()) == float(finite.max()) and finite[0] > 0:
            vb.enableAutoRange(axis="y", enable=False)
            vb.setYRange(0.0, float(finite[0]) * 1.25, padding=0)
        else:
            vb.enableAutoRange(axis="y", enable=True)

    def _draw_epochs(self) -> None:
        curves, mode = self._curves, self._x_mode
        x = curves.epoch_x[mode]
        self.val_loss_curve.setData(x, curves.val_loss)
        if curves.has_metric():
            self.metric_curve.setData(x, curves.metric)
        else:
            self.metric_curve.setData([], [])
        headline = self._history.headline
        self.plots.set_metric_label(headline[0].replace("_", " ") if headline else "metric")
        best = curves.best_index()
        if best is None or not curves.has_metric():
            self.best_marker.hide()
            self.best_point.setData([], [])
            return
        self.best_marker.setValue(x[best])
        self.best_marker.show()
        self.best_point.setData([x[best]], [curves.metric[best]], symbolBrush=pg.mkBrush(style.BEST))

    def _draw_branch(self) -> None:
        """A branched run: where it started from, with its parent's curves when they are listed."""
        branch = self._history.branch if self._history is not None else None
        parent = None
        if branch and branch.get("run"):
            wanted = Path(branch["run"]).resolve()
            parent = next((o.curves for o in self._overlays if o.curves.history.run_dir is not None
                           and o.curves.history.run_dir.resolve() == wanted), None)
        self.branch_mark.show(branch, parent, self._x_mode)

    def _redraw_all(self) -> None:
        self._draw_branch()
        if self._curves is not None:
            if len(self._curves):
                self._draw_steps()
            self._draw_epochs()
        for overlay in self._overlays:
            if overlay.checked:
                self._draw_overlay(overlay)

    def _draw_overlay(self, overlay: _Overlay) -> None:
        curves, mode, color = overlay.curves, self._x_mode, overlay.color
        if not overlay.items:
            overlay.items = {"loss": curve(self.loss_plot, color),
                             "val_loss": points_line(self.loss_plot, color, size=4),
                             "metric": points_line(self.metric_plot, color, size=4),
                             "lr": curve(self.lr_plot, color)}
        x = curves.x[mode].values
        overlay.items["loss"].setData(x, curves.smoothed.values, skipFiniteCheck=curves.all_finite)
        overlay.items["lr"].setData(x, curves.lr.values)
        overlay.items["val_loss"].setData(curves.epoch_x[mode], curves.val_loss)
        if curves.has_metric():
            overlay.items["metric"].setData(curves.epoch_x[mode], curves.metric)

    def _remove_overlay_items(self, overlay: _Overlay) -> None:
        plots = {"loss": self.loss_plot, "val_loss": self.loss_plot, "metric": self.metric_plot,
                 "lr": self.lr_plot}
        for key, item in overlay.items.items():
            plots[key].removeItem(item)
        overlay.items = {}

    def _fill_runs_list(self) -> None:
        history = self._history
        current_dir = history.run_dir if history is not None else None
        settings = dict(history.settings) if history is not None else {}
        self._listed_for = (current_dir, settings) if history is not None else None
        shown = [o for o in self._overlays
                 if current_dir is None or o.curves.history.run_dir != current_dir]
        for overlay in self._overlays:
            if overlay.checked and overlay not in shown:  # it is the current run now
                overlay.checked = False
                self._remove_overlay_items(overlay)
        self._listed = shown
        self.runs_list.set_runs([(o.curves, o.color, o.checked) for o in shown], settings, current_dir)
        self.runs_list.setVisible(bool(shown))

    def _show_state(self) -> None:
        """The plots once there is something to draw; until then, a line saying why not."""
        curves = self._curves
        has_points = curves is not None and (len(curves) > 0 or len(curves.val_loss) > 0)
        overlaid = any(o.checked for o in self._overlays)
        self._stack.setCurrentIndex(1 if has_points or overlaid else 0)
        if curves is None:
            self.empty_label.setText(EMPTY_TEXT)
        elif curves.history.active or curves.history.status == "idle":
            self.empty_label.setText(WAITING_TEXT)
        else:
            self.empty_label.setText(f"This run recorded no training steps ({curves.history.status})")

    # -- controls -----------------------------------------------------------------------
    def _on_x_mode(self, index: int) -> None:
        self._x_mode = X_MODES[index]
        self.plots.set_x_label(self._x_mode)
        self._clear_hover()
        self._redraw_all()
        for plot in self.plots.all:
            plot.enableAutoRange()

    def _on_log_y(self, checked: bool) -> None:
        self.loss_plot.setLogMode(y=checked)
        # on a log axis the minor ticks (0.2 … 0.9 of each decade) crowd: label decades only
        self.loss_plot.getAxis("left").setStyle(maxTextLevel=0 if checked else 2)
        self._clear_hover()

    def _on_smoothing(self, value: int) -> None:
        self._smoothing = value / SLIDER_SCALE
        self.smoothing_label.setText(f"{self._smoothing:.3f}")
        for curves in [self._curves, *(o.curves for o in self._overlays)]:
            if curves is not None:
                curves.set_smoothing(self._smoothing)
        self._redraw_all()
        if self._curves is not None and not self._hovering:
            self.readout.setText(summary(self._curves))

    def _on_run_checked(self, row: int, checked: bool) -> None:
        overlay = self._listed[row]
        overlay.checked = checked
        if checked:
            self._draw_overlay(overlay)
        else:
            self._remove_overlay_items(overlay)
        self._show_state()

    # -- hover ----------------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        curves, plot_index = self._curves, self.plots.plot_at(scene_pos)
        if curves is None or plot_index is None:
            self._clear_hover()
            return
        x = self.plots.all[plot_index].vb.mapSceneToView(scene_pos).x()
        readout = Readout(self._x_mode, curves,
                          [(o.curves, o.color) for o in self._overlays if o.checked])
        text = readout.at(plot_index, x)
        if readout.x is None:
            self._clear_hover()
            return
        self._hovering = True
        self.readout.setText(text)
        self.plots.show_hover(plot_index, readout.x, readout.points)

    def _clear_hover(self) -> None:
        self.plots.hide_hover()
        if self._hovering:
            self._hovering = False
            if self._curves is not None:
                self.readout.setText(summary(self._curves))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self._clear_hover()
        return super().eventFilter(watched, event)
