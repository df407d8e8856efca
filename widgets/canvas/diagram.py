"""The diagram as a picture: the whole graph (not just what the view shows) to PNG or SVG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsScene

MARGIN = 30.0
#: a PNG is drawn at twice the scene's scale, but never larger than this on its longer side
MAX_PIXELS = 8000


def export_diagram(scene: QGraphicsScene, path: Path, background: QColor = QColor("white")) -> QSize:
    """Write every item of ``scene`` to ``path`` (.svg as vectors, anything else as PNG);
    returns the picture's size. Raises OSError when the file cannot be written."""
    freshen = getattr(scene, "freshen", None)
    if freshen is not None:
        freshen()  # every card's texts, also those no view has shown since the last edit
    source = scene.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    if source.isEmpty():
        source = QRectF(0, 0, 200, 100)
    if path.suffix.lower() == ".svg":
        size = source.size().toSize()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(size)
        generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
        generator.setTitle(path.stem)
        painter = QPainter(generator)
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), background)
        scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
        painter.end()
        if not path.is_file():
            raise OSError(f"{path}: could not be written")
        return size
    scale = min(2.0, MAX_PIXELS / max(source.width(), source.height()))
    size = QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(background)
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"{path}: could not be written")
    return size
