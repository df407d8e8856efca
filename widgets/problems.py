"""The problems panel: the graph's diagnostics, with one-click fixes.

It draws the list of ``Diagnostic``s it is given and emits intents: a click on a row
asks the app to select that node (:attr:`ProblemsPanel.node_activated`), a click on a
row's "Fix: …" button asks it to apply the fix (:attr:`ProblemsPanel.fix_requested`).
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QPushButton, QStyle, QStyledItemDelegate,
    QStyleOptionViewItem, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from graph_engine import Diagnostic, Severity
from widgets.trees import EnterTreeWidget

#: columns of the list
SEVERITY_COLUMN, NODES_COLUMN, MESSAGE_COLUMN, FIX_COLUMN = range(4)

#: the message column never gets narrower than this (pixels)
MIN_MESSAGE_WIDTH = 220

#: item data role holding a row's index into :attr:`ProblemsPanel.diagnostics`
INDEX_ROLE = Qt.ItemDataRole.UserRole


def count_text(diagnostics: Sequence[Diagnostic]) -> str:
    """``2 errors, 1 warning``, or ``No problems``."""
    errors = sum(1 for d in diagnostics if d.severity == Severity.ERROR)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "No problems"


class _WrappingDelegate(QStyledItemDelegate):
    """Sizes a row for its text wrapped at the column's current width."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # Qt override
        base = super().sizeHint(option, index)
        view = self.parent()
        width = view.header().sectionSize(index.column()) if view is not None else 0
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        if width <= 0 or not text:
            return base
        style = view.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        text_width = max(width - 2 * margin - 4, 16)  # a little slack for the painted rect
        bounds = option.fontMetrics.boundingRect(
            QRect(0, 0, text_width, 1 << 20),
            int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap), text)
        return QSize(base.width(), max(base.height(), bounds.height() + 2 * margin + 2))


class _ProblemList(EnterTreeWidget):
    resized = Signal()

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self.resized.emit()



class ProblemsPanel(QWidget):
    """A count header above one row per diagnostic: severity, node id(s), message, fix.

    Errors are listed before warnings, each group in the order given.

    Signals:
        node_activated(str node_id): a row was clicked (or Enter pressed on it); the id
            is the diagnostic's first node. Rows about the whole graph emit nothing.
        fix_requested(Diagnostic): the row's "Fix: <label>" button was clicked.
    """

    node_activated = Signal(str)
    fix_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.header = QLabel("No problems", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)

        self.list = _ProblemList(self)
        self.list.setColumnCount(4)
        self.list.setHeaderLabels(["Severity", "Node", "Message", "Fix"])
        self.list.setRootIsDecorated(False)
        self.list.setItemsExpandable(False)
        self.list.setUniformRowHeights(False)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setAllColumnsShowFocus(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self._message_delegate = _WrappingDelegate(self.list)
        self.list.setItemDelegateForColumn(MESSAGE_COLUMN, self._message_delegate)
        head = self.list.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(SEVERITY_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(NODES_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(MESSAGE_COLUMN, QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(FIX_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        # wrapped messages: row heights follow the message column's width
        head.sectionResized.connect(self._relayout_rows)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.list)

        #: the diagnostics shown, in row order
        self.diagnostics: list[Diagnostic] = []
        #: the fix button of each row that has one, by row
        self.fix_buttons: dict[int, QPushButton] = {}

        self.list.resized.connect(self._fit_message_column)
        self.list.itemClicked.connect(self._row_activated)
        self.list.return_pressed.connect(self._row_activated)

    def set_diagnostics(self, diagnostics: Sequence[Diagnostic]) -> None:
        """Show ``diagnostics`` (replacing what was shown)."""
        ordered = ([d for d in diagnostics if d.severity == Severity.ERROR]
                   + [d for d in diagnostics if d.severity != Severity.ERROR])
        self.list.clear()  # also deletes the old buttons
        self.fix_buttons = {}
        self.diagnostics = ordered
        style = self.style()
        icons = {Severity.ERROR: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 Severity.WARNING: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        for row, diagnostic in enumerate(ordered):
            nodes = ", ".join(diagnostic.node_ids) or "(graph)"
            item = QTreeWidgetItem(self.list, [diagnostic.severity.capitalize(), nodes,
                                               diagnostic.message, ""])
            item.setData(SEVERITY_COLUMN, INDEX_ROLE, row)
            if diagnostic.severity in icons:
                item.setIcon(SEVERITY_COLUMN, icons[diagnostic.severity])
            item.setToolTip(MESSAGE_COLUMN, diagnostic.message)
            item.setToolTip(NODES_COLUMN, "Click to select" if diagnostic.node_ids else
                            "Concerns the whole graph")
            if diagnostic.fix is not None:
                button = QPushButton(f"Fix: {diagnostic.fix.label}")
                button.setToolTip(f"{diagnostic.fix.label} (undoable)")
                button.clicked.connect(
                    lambda _checked=False, d=diagnostic: self.fix_requested.emit(d))
                self.list.setItemWidget(item, FIX_COLUMN, button)
                self.fix_buttons[row] = button
        self.header.setText(count_text(ordered))
        self._fit_message_column()

    def _fit_message_column(self) -> None:
        """The message takes the width the other columns leave, but never less than
        MIN_MESSAGE_WIDTH (a narrow panel scrolls sideways instead of wrapping every word)."""
        head = self.list.header()
        for column in (SEVERITY_COLUMN, NODES_COLUMN, FIX_COLUMN):
            self.list.resizeColumnToContents(column)
        others = sum(head.sectionSize(c) for c in (SEVERITY_COLUMN, NODES_COLUMN, FIX_COLUMN))
        head.resizeSection(MESSAGE_COLUMN,
                           max(MIN_MESSAGE_WIDTH, self.list.viewport().width() - others))

    def _relayout_rows(self, column: int, old: int, new: int) -> None:
        if column == MESSAGE_COLUMN and old != new:
            self.list.scheduleDelayedItemsLayout()

    def item(self, row: int) -> QTreeWidgetItem:
        """The list item of row ``row``."""
        return self.list.topLevelItem(row)

    def _row_activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        if item is None:
            return
        diagnostic = self.diagnostics[item.data(SEVERITY_COLUMN, INDEX_ROLE)]
        if diagnostic.node_ids:
            self.node_activated.emit(diagnostic.node_ids[0])
