"""The list of earlier runs to compare with: a check box, a colour and what differs.

Each row names a run folder, its best headline metric and the settings in which it
differs from the current run (``learning_rate 0.001 → 0.01``: current value, then this
run's); the tooltip lists all its settings. A damaged folder's row says "damaged" and
why instead of its best metric (what could be read can still be overlaid). Checking a
row asks for its overlay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QMenu, QTreeWidget, QTreeWidgetItem

from graph_engine.experiments.diff import describe_changes, run_changes, show_value
from graph_engine.experiments.records import read_trial, run_graph
from graph_engine.training.history import RunHistory, settings_difference
from widgets.best_result import best_text as run_best_text
from widgets.curves.run_curves import RunCurves

#: settings that say nothing about how a run learns: left out of the differences
IGNORED_SETTINGS = frozenset({"device", "checkpoint_every", "log_every", "probe_every",
                              "probe_unit", "probe_budget", "feature_map_nodes"})


def value_text(value: Any) -> str:
    """A setting's value as a person writes it (0.001, not 0.0010000000000000002)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def setting_text(key: str, value: Any) -> str:
    """A value as a row says it: where weights came from by the run's folder name."""
    if key == "init_from":
        return Path(str(value)).name if value else "fresh"
    return value_text(value)


def difference_text(current: dict[str, Any], other: dict[str, Any], current_dir: Path | None = None,
                    other_dir: Path | None = None) -> str:
    """What differs from the current run to the other, the graph first: ``act1: ReLU → Tanh,
    fc1.out_features 128 → 64, lr 1e-3 → 1e-2`` (from their run folders' graphs). Without a
    current run, a sweep's trial says what it varied; otherwise empty."""
    if not current:
        varied = read_trial(other_dir).get("values") if other_dir is not None else None
        return ", ".join(f"{k.removesuffix('.type')} {show_value(v)}" for k, v in varied.items()) if varied else ""
    if current_dir is not None and other_dir is not None:
        graphs = run_graph(current_dir), run_graph(other_dir)
        if graphs[0] is not None and graphs[1] is not None:
            return describe_changes(run_changes(graphs[0], current, graphs[1], other), limit=6)
    changes = settings_difference(current, other)
    order = {key: index for index, key in enumerate([*current, *other])}  # the file's order
    return ", ".join(f"{key} {setting_text(key, a)} → {setting_text(key, b)}"
                     for key, (a, b) in sorted(changes.items(), key=lambda kv: order[kv[0]])
                     if key not in IGNORED_SETTINGS)


def settings_tooltip(name: str, settings: dict[str, Any], damage: Sequence[str] = ()) -> str:
    """The run's name, why its folder is damaged (if it is), then all its settings."""
    lines = [f"{key}: {value_text(value)}" for key, value in sorted(settings.items())]
    damaged = ["Damaged:", *(f"  {reason}" for reason in damage)] if damage else []
    return "\n".join([name, *damaged, *(lines or ["(no settings recorded)"])])


def headline_text(curves: RunCurves) -> str:
    """A row's first line after the name: "damaged: why", else the best metric."""
    damaged = curves.history.damaged
    return f"damaged: {damaged}" if damaged else f"best {best_text(curves)}"


def best_text(curves: RunCurves) -> str:
    """The run's best epoch (lowest validation loss) and its headline metric, as the Training
    panel and metrics.jsonl say it (widgets.best_result)."""
    return run_best_text(curves.history)


def swatch(color: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


def run_name(history: RunHistory) -> str:
    return history.run_dir.name if history.run_dir is not None else "(unsaved run)"


class EarlierRunsList(QTreeWidget):
    """Checkable two-line rows: name and best metric, then what differs; emits
    ``checked_changed(row, checked)`` on a toggle."""

    checked_changed = Signal(int, bool)
    #: row: "Branch from this run" (a finished run: its graph, starting from its weights)
    branch_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(1)
        self.setHeaderLabels(["Earlier runs: check one to overlay it"])
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._differences: list[str] = []
        self._finished: list[bool] = []
        self._dirs: list[Path | None] = []
        self.itemChanged.connect(self._on_item_changed)

    def set_runs(self, runs: Sequence[tuple[RunCurves, str, bool]],
                 current_settings: dict[str, Any], current_dir: Path | None = None) -> None:
        """Rows for (curves, colour, checked) of each run."""
        self.blockSignals(True)
        self.clear()
        self._names = []
        self._finished = [curves.history.status == "finished" for curves, _, _ in runs]
        for curves, color, checked in runs:
            history = curves.history
            name = run_name(history)
            self._names.append(f"{name}  —  {headline_text(curves)}")
            item = QTreeWidgetItem([name])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setIcon(0, swatch(color))
            item.setToolTip(0, settings_tooltip(name, history.settings, history.damage))
            self.addTopLevelItem(item)
        self.blockSignals(False)
        self._dirs = [curves.history.run_dir for curves, _, _ in runs]
        self.set_current_settings(current_settings, [curves.history.settings for curves, _, _ in runs],
                                  current_dir)

    def set_current_settings(self, current: dict[str, Any], others: Sequence[dict[str, Any]],
                             current_dir: Path | None = None) -> None:
        """Rewrite each row's second line against the current run (its graph and settings)."""
        self.blockSignals(True)
        self._differences = []
        dirs = self._dirs
        for index, settings in enumerate(others):
            text = difference_text(current, settings, current_dir, dirs[index] if index < len(dirs) else None)
            text = text if text or not current else "same graph and settings"
            self._differences.append(text)
            item = self.topLevelItem(index)
            item.setText(0, self._names[index] + (f"\n{text}" if text else ""))
        self.blockSignals(False)

    def difference(self, row: int) -> str:
        """The settings that differ, as shown on the row's second line."""
        return self._differences[row]

    def sizeHint(self) -> QSize:  # Qt override
        """Tall enough for up to three rows: the plots keep the rest."""
        count = self.topLevelItemCount()
        rows = max(1, min(3, count))
        row = self.sizeHintForRow(0) if count else 2 * self.fontMetrics().lineSpacing() + 6
        height = self.header().sizeHint().height() + rows * row + 2 * self.frameWidth() + 2
        return QSize(super().sizeHint().width(), height)

    def menu_for_row(self, row: int) -> QMenu:
        """The row's context menu: Branch from this run (enabled for a finished run)."""
        menu = QMenu(self)
        action = menu.addAction("Branch from this run")
        action.setToolTip("Open this run's graph as a new document whose training starts from its weights")
        action.setEnabled(0 <= row < len(self._finished) and self._finished[row])
        action.triggered.connect(lambda _checked=False, r=row: self.branch_requested.emit(r))
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt override)
        item = self.itemAt(event.pos())
        if item is not None:
            self.menu_for_row(self.indexOfTopLevelItem(item)).exec(event.globalPos())

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        self.checked_changed.emit(self.indexOfTopLevelItem(item),
                                  item.checkState(0) == Qt.CheckState.Checked)
