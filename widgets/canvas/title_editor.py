"""Renaming a node in place: a line edit over its title (double-click the title, or
Rename in its context menu). Enter or leaving the field commits, Escape cancels;
``committed(node_id, text, as_id)`` is the intent."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGraphicsView, QLineEdit

from widgets.canvas.geometry import NODE_WIDTH, TEXT_MARGIN
from widgets.canvas.node_item import NodeItem


class TitleEditor(QObject):
    committed = Signal(str, str, bool)

    def __init__(self, view: QGraphicsView):
        super().__init__(view)
        self._view = view
        self.edit = QLineEdit(view.viewport())
        self.edit.hide()
        self.edit.installEventFilter(self)
        self.edit.editingFinished.connect(self._finish)
        self._node_id: str | None = None
        self._as_id = False

    @property
    def node_id(self) -> str | None:
        return self._node_id

    def start(self, item: NodeItem, as_id: bool = False) -> None:
        """Edit ``item``'s title (its label, or its id) over the card."""
        self._node_id, self._as_id = item.node_id, as_id
        rect = QRectF(item.mapToScene(QPointF(TEXT_MARGIN - 3, 5)), item.mapToScene(QPointF(NODE_WIDTH - TEXT_MARGIN, 27)))
        shown = self._view.mapFromScene(rect).boundingRect()
        self.edit.setGeometry(shown.x(), shown.y(), max(shown.width(), 140), max(shown.height(), 22))
        self.edit.setPlaceholderText("new id" if as_id else "name or label")
        self.edit.setText(item.node_id if as_id else item.title)
        self.edit.selectAll()
        self.edit.show()
        self.edit.setFocus()

    def _finish(self) -> None:
        node_id, self._node_id = self._node_id, None
        if node_id is None:
            return
        self.edit.hide()
        self._view.setFocus()
        self.committed.emit(node_id, self.edit.text(), self._as_id)

    def cancel(self) -> None:
        self._node_id = None
        self.edit.hide()
        self._view.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return super().eventFilter(watched, event)
