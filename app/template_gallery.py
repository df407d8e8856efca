"""File → New from template: the shipped templates as a gallery — a thumbnail drawn from each
graph, its name and description, its parameter count and the dataset it trains on."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget,
)

from graph_engine import analyze, list_templates, load_template
from graph_engine.layout import layered_layout
from widgets.canvas import GraphScene
from widgets.theme import CANVAS_BACKGROUND

THUMBNAIL = QSize(260, 150)


def thumbnail(key: str, size: QSize = THUMBNAIL) -> QPixmap:
    """The template's graph drawn small (laid out as L would, at its overview zoom)."""
    graph = load_template(key)
    scene = GraphScene(graph)
    for node_id, position in layered_layout(graph).items():
        item = scene.node_item(node_id)
        if item is not None:
            item.setPos(*position)
    scene.route_edges()
    pixmap = QPixmap(size)
    pixmap.fill(CANVAS_BACKGROUND)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    source = scene.itemsBoundingRect().adjusted(-30, -30, 30, 30)
    scene.render(painter, QRectF(pixmap.rect()), source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    scene.detach()
    return pixmap


def caption(template) -> str:
    graph = load_template(template.key)
    params = analyze(graph).total_params
    dataset = graph.training.get("dataset", "digits")
    return f"{template.name}\n{params:,} parameters · trains on {dataset}\n{template.description}"


class TemplateGallery(QDialog):
    """Pick a shipped template from thumbnails."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New from template")
        self.resize(900, 640)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(THUMBNAIL)
        self.list.setGridSize(QSize(THUMBNAIL.width() + 24, THUMBNAIL.height() + 120))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setSpacing(6)
        for template in list_templates():
            item = QListWidgetItem(QIcon(thumbnail(template.key)), caption(template))
            item.setData(Qt.ItemDataRole.UserRole, template.key)
            item.setToolTip(template.description)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
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
