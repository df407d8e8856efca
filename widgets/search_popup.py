"""A small searchable list that pops up at the cursor: Tab on the canvas to add a layer there
(as in Blender, ComfyUI and Unreal), Ctrl+F to find a node.

Typing filters the entries (a prefix first, then a substring, then the letters in order);
Up/Down move, Enter chooses, Escape closes. ``chosen`` carries the entry's data.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: (text shown, secondary text, data)
Entry = tuple[str, str, Any]


def rank(query: str, text: str) -> int | None:
    """0 for a prefix, 1 for a substring, 2 for the letters in order, None for no match."""
    query, text = query.lower(), text.lower()
    if text.startswith(query):
        return 0
    if query in text:
        return 1
    position = 0
    for letter in query:
        position = text.find(letter, position) + 1
        if position == 0:
            return None
    return 2


class SearchPopup(QFrame):
    chosen = Signal(object)

    def __init__(self, parent: QWidget | None, placeholder: str):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(placeholder)
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(300, 320)
        self._entries: list[Entry] = []
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose_item)

    def open_at(self, global_pos: QPoint, entries: Sequence[Entry], text: str = "") -> None:
        self._entries = list(entries)
        self.search.setText(text)
        self._filter(text)
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def shown_data(self) -> list[Any]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        scored = []
        for index, (label, detail, data) in enumerate(self._entries):
            score = rank(text, label) if text else 0
            if score is None and detail:
                score = None if rank(text, detail) is None else 3
            if score is not None:
                scored.append((score, index))
        self.list.clear()
        for _score, index in sorted(scored):
            label, detail, data = self._entries[index]
            item = QListWidgetItem(f"{label}    {detail}" if detail else label)
            item.setData(Qt.ItemDataRole.UserRole, data)
            self.list.addItem(item)
        self.list.setCurrentRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.search and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.list.keyPressEvent(event)  # the list moves; typing stays in the field
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose_item(self.list.currentItem())
                return True
            if key == Qt.Key.Key_Escape:
                self.close()
                return True
        return super().eventFilter(watched, event)

    def _choose_item(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        data = item.data(Qt.ItemDataRole.UserRole)
        self.close()
        self.chosen.emit(data)
