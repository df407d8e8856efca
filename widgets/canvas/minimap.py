"""The minimap: the whole graph small in a corner of the canvas, with the part the view shows
framed. Click or drag in it to move the view there. Its picture is the scene rendered once
(at its overview zoom: cards in their categories' colours) and again only after the scene
has changed and settled, so a big graph costs nothing while it is panned.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

from widgets.canvas.minimap_blocks import block_picture
from widgets.theme import CANVAS_BACKGROUND, SELECTION_COLOR

SIZE = (220, 150)
#: graphs up to this many nodes are drawn in the minimap as on the canvas; bigger ones as blocks
DETAILED_UP_TO = 500
MARGIN = 12
REDRAW_MS = 300


class Minimap(QWidget):
    def __init__(self, view: QGraphicsView):
        super().__init__(view.viewport())
        self._view = view
        self._pixmap = QPixmap()
        self._source = QRectF()  # the scene rectangle the picture shows
        self.resize(*SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.redraw)
        self._scene = None
        self._watching = False
        #: shown at all (View → Minimap); it also hides itself on an empty canvas
        self.enabled = True
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)

    def set_scene(self, scene) -> None:
        self._watch_repaints(False)
        if self._scene is not None:
            try:
                self._scene.layout_changed.disconnect(self._layout_changed)
            except (RuntimeError, TypeError, AttributeError):
                pass
        self._scene = scene
        if scene is not None and hasattr(scene, "layout_changed"):
            scene.layout_changed.connect(self._layout_changed)
        self.redraw()

    def _watch_repaints(self, on: bool) -> None:
        """Follow every repaint of the scene (a small graph's picture shows its cards' texts)
        or not: while anything listens to ``QGraphicsScene.changed``, Qt repaints the whole
        scene for every item removed, which on a 10,000-node graph costs every edit a full
        repaint of the view."""
        if on == self._watching or self._scene is None:
            self._watching = on and self._scene is not None
            return
        if on:
            self._scene.changed.connect(self._scene_changed)
        else:
            try:
                self._scene.changed.disconnect(self._scene_changed)
            except (RuntimeError, TypeError):
                pass
        self._watching = on

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self.redraw()

    def place(self) -> None:
        """Keep to the view's bottom-right corner."""
        viewport = self._view.viewport().rect()
        self.move(viewport.right() - self.width() - MARGIN, viewport.bottom() - self.height() - MARGIN)

    def _scene_changed(self, _regions) -> None:
        """Any repaint of a small graph; a big graph's blocks change only with its layout
        (new shapes in 10,000 labels must not redraw it)."""
        if not self._blocks():
            self._schedule(REDRAW_MS)

    def _layout_changed(self) -> None:
        """Nodes added, removed or moved: a small graph's picture is redrawn once the command
        is done (the next turn of the event loop), so that a picture taken right after a layout
        shows the new one, with the view's frame where it belongs; a big graph's after a pause."""
        self._schedule(REDRAW_MS if self._blocks() else 0)

    def _schedule(self, delay_ms: int) -> None:
        if not self._timer.isActive() or delay_ms < self._timer.remainingTime():
            self._timer.start(delay_ms)

    def _blocks(self) -> bool:
        """Whether the picture is drawn as blocks (a graph past the detailed size)."""
        scene = self._scene
        return scene is not None and hasattr(scene, "node_items") and len(scene.graph) > DETAILED_UP_TO

    def redraw(self) -> None:
        scene = self._scene
        count = len(scene.graph) if scene is not None and hasattr(scene, "node_items") else 0
        self.setVisible(self.enabled and count > 0)
        self._watch_repaints(self.enabled and 0 < count <= DETAILED_UP_TO)
        if not count or not self.enabled:
            return
        if count > DETAILED_UP_TO:  # each card a block of its category's colour
            self._source, self._pixmap = block_picture(scene.graph, self.width(), self.height())
        else:  # small enough to draw as the canvas does
            source = QRectF()
            for item in scene.node_items().values():
                source = source.united(item.sceneBoundingRect())
            self._source = source.adjusted(-60, -60, 60, 60)
            pixmap = QPixmap(self.size())
            pixmap.fill(CANVAS_BACKGROUND)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            scene.render(painter, QRectF(pixmap.rect()), self._source, Qt.AspectRatioMode.KeepAspectRatio)
            painter.end()
            self._pixmap = pixmap
        self.place()
        self.update()

    def _scale(self) -> tuple[float, QPointF]:
        """Scene units to minimap pixels, and the picture's top-left corner (it keeps its aspect)."""
        if self._source.isEmpty():
            return 1.0, QPointF()
        scale = min(self.width() / self._source.width(), self.height() / self._source.height())
        offset = QPointF((self.width() - self._source.width() * scale) / 2,
                         (self.height() - self._source.height() * scale) / 2)
        return scale, offset

    def visible_frame(self) -> QRectF:
        """Where the view's visible area lies on the minimap (widget coordinates)."""
        scale, offset = self._scale()
        shown = self._view.mapToScene(self._view.viewport().rect()).boundingRect()
        return QRectF(offset + (shown.topLeft() - self._source.topLeft()) * scale, shown.size() * scale)

    def scene_point(self, pos: QPointF) -> QPointF:
        scale, offset = self._scale()
        return self._source.topLeft() + (pos - offset) / scale

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.setPen(QPen(QColor("#9ca3af"), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        whole = QRectF(self.rect())
        frame = self.visible_frame()
        scale, offset = self._scale()
        if frame.contains(QRectF(offset, self._source.size() * scale)):
            return  # the view shows the whole graph (the picture, not the widget's margins): no frame
        fill = QColor(SELECTION_COLOR)
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.setPen(QPen(SELECTION_COLOR, 1.5))
        painter.drawRect(frame.intersected(whole))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._view.centerOn(self.scene_point(event.position()))
        self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._view.centerOn(self.scene_point(event.position()))
            self.update()
        event.accept()
