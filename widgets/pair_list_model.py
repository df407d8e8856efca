"""A list model over (id, label) pairs for a combo box that may hold 10,000 entries.

Filling a ``QComboBox`` item by item costs tens of milliseconds at that size, after every
edit of a big graph; this model hands Qt the Python list as it is and answers only for the
rows a view shows.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt


class PairListModel(QAbstractListModel):
    """Rows are labels (display role) with ids (user role)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pairs: list[tuple[str, str]] = []
        self._rows: dict[str, int] = {}

    def set_pairs(self, pairs: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._pairs = list(pairs)
        self._rows = {node_id: row for row, (node_id, _label) in enumerate(self._pairs)}
        self.endResetModel()

    def row_of(self, node_id: str | None) -> int:
        """The row of ``node_id``; -1 when it is not listed."""
        return self._rows.get(node_id, -1) if node_id is not None else -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._pairs)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._pairs):
            return None
        node_id, label = self._pairs[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return label
        if role == Qt.ItemDataRole.UserRole:
            return node_id
        return None


__all__ = ["PairListModel"]
