"""The bar above the canvas while a block's definition is edited: ``Graph › Stage › Basic``.

Each level is a button; choosing one leaves the definitions inside it. Hidden at the top
level. It only draws and emits (``level_chosen(int depth)``: 0 is the graph itself).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from widgets.theme import soften


class Breadcrumb(QWidget):
    """``set_path(graph_name, block_names)``; one button per level, the last one current."""

    level_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("block_breadcrumb")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 3, 6, 3)
        self._layout.setSpacing(2)
        self._parts: list[QWidget] = []
        self.buttons: list[QToolButton] = []
        self.note = QLabel(self)
        soften(self.note)
        self.setVisible(False)

    def set_path(self, graph_name: str, blocks: list[str], note: str = "") -> None:
        for part in self._parts:
            self._layout.removeWidget(part)
            part.deleteLater()
        self._layout.removeWidget(self.note)
        self._parts, self.buttons = [], []
        for depth, name in enumerate([graph_name, *blocks]):
            if depth:
                arrow = QLabel("›", self)
                self._layout.addWidget(arrow)
                self._parts.append(arrow)
            button = QToolButton(self)
            button.setText(name if depth == 0 else f"{name} (block)")
            button.setAutoRaise(True)
            button.setEnabled(depth < len(blocks))
            button.setToolTip("Back to the graph" if depth == 0 else f"Back to block {name}")
            button.clicked.connect(lambda _checked=False, d=depth: self.level_chosen.emit(d))
            self._layout.addWidget(button)
            self._parts.append(button)
            self.buttons.append(button)
        self.note.setText(note)
        self._layout.addWidget(self.note, 1, Qt.AlignmentFlag.AlignRight)
        self.setVisible(bool(blocks))

    def texts(self) -> list[str]:
        """The levels as shown (tests, screenshots)."""
        return [b.text() for b in self.buttons]
