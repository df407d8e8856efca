"""File → New from template: the shipped templates with their descriptions."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from graph_engine import list_templates


class TemplateGallery(QDialog):
    """Pick a shipped template: name and description of each."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.resize(640, 420)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        for template in list_templates():
            item = QListWidgetItem(f"{template.name}\n{template.description}")
            item.setData(Qt.ItemDataRole.UserRole, template.key)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Start from a classic network:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    @classmethod
    def choose(cls, parent: QWidget | None = None) -> str | None:
        dialog = cls(parent)
        return dialog.key() if dialog.exec() == QDialog.DialogCode.Accepted else None
