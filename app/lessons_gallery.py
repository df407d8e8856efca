"""Help → Lessons: the course's demonstrations, each with what to look for, the course's claim
and the number measured by running it; Open puts its network and panels in front."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from app.lesson_actions import lesson_html
from graph_engine.lessons import LESSONS, get_lesson


class LessonsGallery(QDialog):
    """Pick a lesson; ``chosen`` is its key and ``use_current`` whether to apply it to the open graph."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Lessons")
        self.resize(900, 560)
        self.list = QListWidget()
        for lesson in LESSONS:
            item = QListWidgetItem(f"{lesson.number}. {lesson.title}")
            item.setData(Qt.ItemDataRole.UserRole, lesson.key)
            self.list.addItem(item)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_current_button = QPushButton("Use my graph")
        self.use_current_button.setToolTip("Train the network already open on this lesson's 2-D data and settings")
        self.buttons.addButton(self.use_current_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(lambda: self._choose(False))
        self.use_current_button.clicked.connect(lambda: self._choose(True))
        self.list.itemDoubleClicked.connect(lambda _item: self._choose(False))
        self.list.currentItemChanged.connect(lambda item, _old: self._show(item))
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addWidget(self.detail, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The course's demonstrations, each measured by running it:"))
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.chosen: str | None = None
        self.use_current = False
        self.list.setCurrentRow(0)

    def _show(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        lesson = get_lesson(item.data(Qt.ItemDataRole.UserRole))
        self.detail.setText(lesson_html(lesson))
        self.use_current_button.setEnabled(lesson.two_d)

    def _choose(self, use_current: bool) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.chosen = item.data(Qt.ItemDataRole.UserRole)
        self.use_current = use_current
        self.accept()
