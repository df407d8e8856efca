"""A tree widget that reports Enter on its current item (palette and problems lists)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem


class EnterTreeWidget(QTreeWidget):
    """Enter or Return on the current item emits ``return_pressed(item)``."""

    return_pressed = Signal(QTreeWidgetItem)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.return_pressed.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)
