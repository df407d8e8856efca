"""The runs table: one row per run, sortable, with a tick to overlay its curves.

Columns: status, best metric, epoch of best, params, MACs, steps/s, wall time, the share of
the time probes took, then one column per varied value (a sweep's). It draws :class:`~graph_engine.experiments.records.RunRow`
values and emits intents: ``ticked_changed(paths)`` when the ticked set changes and
``run_activated(path)`` on a double click.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget, QLabel

from graph_engine.experiments.diff import show_value
from graph_engine.experiments.records import RunRow

FIXED_COLUMNS = ("run", "status", "best", "epoch", "params", "MACs", "steps/s", "wall time", "probes")
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class _Item(QTableWidgetItem):
    """Sorts by its number when it has one (NaN last), else by its text."""

    def __init__(self, text: str, number: float | None = None):
        super().__init__(text)
        self.number = number
        self.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

    def __lt__(self, other: QTableWidgetItem) -> bool:  # Qt override
        mine, theirs = self.number, getattr(other, "number", None)
        if mine is not None and theirs is not None:
            if math.isnan(mine) or math.isnan(theirs):
                return not math.isnan(mine) and math.isnan(theirs)
            return mine < theirs
        return self.text() < other.text()


def _count(value: int | None) -> tuple[str, float]:
    return ("—", math.nan) if value is None else (f"{value:,}", float(value))


def _float(value: float, digits: int = 4) -> tuple[str, float]:
    return ("—", math.nan) if not math.isfinite(value) else (f"{value:.{digits}g}", value)


def _percent(share: float) -> tuple[str, float]:
    return ("—", math.nan) if not math.isfinite(share) else (f"{100 * share:.1f} %", share)


def _seconds(value: float) -> tuple[str, float]:
    if not math.isfinite(value):
        return "—", math.nan
    minutes, seconds = divmod(value, 60)
    return (f"{int(minutes)}:{seconds:04.1f}" if minutes else f"{seconds:.1f} s"), value


class RunsTable(QWidget):
    """See the module docstring."""

    ticked_changed = Signal(list)
    run_activated = Signal(Path)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("No runs yet: train, or run a sweep (Training → Run sweep…)")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, len(FIXED_COLUMNS))
        self.table.setHorizontalHeaderLabels(FIXED_COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)
        self.rows: list[RunRow] = []
        self._ticked: set[Path] = set()

    @property
    def ticked(self) -> list[Path]:
        return [r.run_dir for r in self.rows if r.run_dir in self._ticked]

    def set_rows(self, rows: Sequence[RunRow], caption: str = "") -> None:
        """Show ``rows`` (ticks of runs still listed are kept; sorting is kept)."""
        self.rows = list(rows)
        self._ticked &= {r.run_dir for r in rows}
        varied = []
        for row in rows:
            varied += [k for k in row.varied if k not in varied]
        self._varied = varied
        table = self.table
        sort_column = table.horizontalHeader().sortIndicatorSection()
        order = table.horizontalHeader().sortIndicatorOrder()
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.clear()
        table.setColumnCount(len(FIXED_COLUMNS) + len(varied))
        table.setHorizontalHeaderLabels([*FIXED_COLUMNS, *(_column_name(k) for k in varied)])
        table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, item in enumerate(self._items(row, varied)):
                table.setItem(index, column, item)
        table.setSortingEnabled(True)
        if sort_column >= 0 and sort_column < table.columnCount():
            table.sortItems(sort_column, order)
        table.blockSignals(False)
        self.caption.setText(caption or (f"{len(rows)} run{'s' if len(rows) != 1 else ''}: tick rows to overlay "
                                         "their curves; double-click one to open it" if rows else
                                         "No runs yet: train, or run a sweep (Training → Run sweep…)"))

    def _items(self, row: RunRow, varied: list[str]) -> list[QTableWidgetItem]:
        name = _Item(row.name)
        name.setFlags(name.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        name.setCheckState(Qt.CheckState.Checked if row.run_dir in self._ticked else Qt.CheckState.Unchecked)
        name.setData(PATH_ROLE, str(row.run_dir))
        name.setToolTip(row.reason or str(row.run_dir))
        status = _Item(row.status)
        status.setToolTip(row.reason or row.status)
        best_text, best = _float(row.best_metric)
        cells = [name, status, _Item(f"{best_text} {row.metric_name}".strip() if row.metric_name else best_text, best),
                 _Item(*_epoch(row.best_epoch)), _Item(*_count(row.params)), _Item(*_count(row.macs)),
                 _Item(*_float(row.steps_per_s, 3)), _Item(*_seconds(row.wall_time)), _Item(*_percent(row.probe_share))]
        for key in varied:
            value = row.varied.get(key)
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            cells.append(_Item("" if value is None else show_value(value), number))
        for cell in cells[2:]:
            if cell.number is not None:
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return cells

    def set_ticked(self, paths: Sequence[Path]) -> None:
        """Tick exactly ``paths`` (emits ``ticked_changed``)."""
        self._ticked = set(paths)
        self.table.blockSignals(True)
        for index in range(self.table.rowCount()):
            item = self.table.item(index, 0)
            checked = Path(item.data(PATH_ROLE)) in self._ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.table.blockSignals(False)
        self.ticked_changed.emit(self.ticked)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        path = Path(item.data(PATH_ROLE))
        before = set(self._ticked)
        if item.checkState() == Qt.CheckState.Checked:
            self._ticked.add(path)
        else:
            self._ticked.discard(path)
        if before != self._ticked:
            self.ticked_changed.emit(self.ticked)

    def _on_double_click(self, row: int, _column: int) -> None:
        self.run_activated.emit(Path(self.table.item(row, 0).data(PATH_ROLE)))


def _epoch(epoch: int | None) -> tuple[str, Any]:
    return ("—", math.nan) if epoch is None else (str(epoch), float(epoch))


def _column_name(target: str) -> str:
    if target.startswith("training."):
        from graph_engine.experiments.spec import SHORT_SETTINGS

        key = target[len("training."):]
        return SHORT_SETTINGS.get(key, key)
    return target[:-len(".type")] if target.endswith(".type") else target
