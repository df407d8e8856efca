"""The canvas view: zoom, pan, rubber-band selection, fit, and a grid background."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QCursor, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPen, QTransform, QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from widgets.canvas.geometry import GRID_SIZE, SCENE_EXTENT, shows_texts
from widgets.canvas.minimap import Minimap
from widgets.theme import CANVAS_BACKGROUND, GRID_COLOR, GRID_MAJOR_COLOR, MUTED_TEXT_COLOR


class GraphView(QGraphicsView):
    """A view of a :class:`GraphScene`.

    Left-drag on empty space: rubber-band selection. Wheel: zoom about the cursor
    (0.1× to 4×). Middle-drag or Space+left-drag: pan. F: :meth:`fit`. Ctrl+0:
    :meth:`reset_zoom`; Ctrl+= / Ctrl+-: zoom in / out. Drops go to the scene.
    """

    #: Tab, or typing a letter, on the canvas: add a layer at the cursor (scene point, text typed)
    quick_add_requested = Signal(QPointF, str)
    #: shown in the middle of an empty canvas
    EMPTY_HINT = "Drag a layer here from the Layers panel, or press Tab to search for one"

    MIN_ZOOM = 0.1
    MAX_ZOOM = 4.0
    #: fit() never zooms in past this: a lone node is not blown up to 4×
    FIT_MAX_ZOOM = 1.0
    FIT_MARGIN = 40.0
    WHEEL_STEP = 1.0015   # per 1/8 degree: one notch (120) ≈ ×1.2

    def __init__(self, scene: QGraphicsScene | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        if scene is not None:
            self.setScene(scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        #: the whole graph small in the bottom-right corner (View → Minimap)
        self.minimap = Minimap(self)
        self.minimap.set_scene(self.scene())
        self._pan_from: QPoint | None = None
        self._pan_button = Qt.MouseButton.NoButton
        self._space_held = False

    def setScene(self, scene: QGraphicsScene | None) -> None:  # noqa: N802 (Qt override)
        super().setScene(scene)
        if getattr(self, "minimap", None) is not None:
            self.minimap.set_scene(scene)
        if scene is not None:  # its own signal where it has one: see Minimap._watch_repaints
            getattr(scene, "layout_changed", scene.changed).connect(self._maybe_hint_changed)
        self._hinting = None

    def _maybe_hint_changed(self, _regions=None) -> None:
        """The hint is drawn over the whole viewport: repaint it all when it comes or goes."""
        graph = getattr(self.scene(), "graph", None)
        hinting = graph is not None and len(graph) == 0  # not node_items(): a copy of 10,000
        if hinting != getattr(self, "_hinting", None):
            self._hinting = hinting
            self.viewport().update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 (Qt override)
        super().scrollContentsBy(dx, dy)
        if getattr(self, "minimap", None) is not None:
            self.minimap.place()  # scrolling the viewport moves its child widgets along

    def viewportEvent(self, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QEvent.Type.Resize and getattr(self, "minimap", None) is not None:
            self.minimap.place()
        elif kind == QEvent.Type.Paint and shows_texts(self):
            freshen = getattr(self.scene(), "freshen", None)  # cards whose texts waited for a view
            if freshen is not None:
                freshen(self.mapToScene(self.viewport().rect()).boundingRect())
        return super().viewportEvent(event)

    # -- zoom ---------------------------------------------------------------------------
    def zoom_factor(self) -> float:
        """The current scale: 1.0 is 100 %."""
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom to ``factor`` (clamped to 0.1–4), keeping the scene point under ``anchor``
        (viewport coordinates; default: the viewport's centre) in place."""
        factor = min(self.MAX_ZOOM, max(self.MIN_ZOOM, factor))
        current = self.zoom_factor()
        if math.isclose(factor, current, rel_tol=1e-9):
            return
        if anchor is None:
            anchor = self.viewport().rect().center()
        scene_point = self.mapToScene(anchor)
        self.setTransform(QTransform.fromScale(factor, factor))
        self._put(scene_point, QPointF(anchor))

    def zoom_by(self, step: float, anchor: QPoint | None = None) -> None:
        self.set_zoom(self.zoom_factor() * step, anchor)

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(1 / 1.25)

    def reset_zoom(self) -> None:
        """Back to 100 %, keeping the centre of the view."""
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Zoom and scroll so every item shows, with a margin (at most 100 %)."""
        scene = self.scene()
        rect = scene.itemsBoundingRect() if scene is not None else QRectF()
        if rect.isNull() or rect.isEmpty():
            self.setTransform(QTransform())
            self.centerOn(0.0, 0.0)
            return
        rect = rect.adjusted(-self.FIT_MARGIN, -self.FIT_MARGIN, self.FIT_MARGIN, self.FIT_MARGIN)
        viewport = self.viewport().rect()
        scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        scale = min(self.FIT_MAX_ZOOM, max(self.MIN_ZOOM, scale))
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(rect.center())

    def _put(self, scene_point: QPointF, view_point: QPointF) -> None:
        """Scroll so ``scene_point`` shows at ``view_point`` (to the nearest pixel)."""
        now = self.mapFromScene(scene_point)
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(now.x() - view_point.x()))
        v.setValue(v.value() + round(now.y() - view_point.y()))

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            delta = event.pixelDelta().y()
        if not delta:
            event.ignore()
            return
        self.zoom_by(self.WHEEL_STEP ** delta, event.position().toPoint())
        event.accept()

    # -- pan ----------------------------------------------------------------------------
    def is_panning(self) -> bool:
        return self._pan_from is not None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_held):
            self._pan_from = event.position().toPoint()
            self._pan_button = button
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - delta.x())
            v.setValue(v.value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() == self._pan_button:
            self._pan_from = None
            self._pan_button = Qt.MouseButton.NoButton
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)
        event.accept()   # the view consumed the gesture (e.g. ended a rubber band)

    # -- keys ---------------------------------------------------------------------------
    def cursor_scene_pos(self) -> QPointF:
        """The scene point under the mouse, or the viewport's centre when it is elsewhere."""
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(pos):
            pos = self.viewport().rect().center()
        return self.mapToScene(pos)

    def event(self, event) -> bool:  # noqa: A003 (Qt override)
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.quick_add_requested.emit(self.cursor_scene_pos(), "")
            return True  # not focus navigation
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Space and not event.isAutoRepeat() and not ctrl:
            self._space_held = True
            if self._pan_from is None:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key.Key_Space:
            event.accept()
            return
        if key == Qt.Key.Key_F and not (mods & ~Qt.KeyboardModifier.KeypadModifier):
            self.fit()
            event.accept()
            return
        if ctrl and key == Qt.Key.Key_0:
            self.reset_zoom()
            event.accept()
            return
        if event.matches(QKeySequence.StandardKey.ZoomIn) or (ctrl and key == Qt.Key.Key_Equal):
            self.zoom_in()
            event.accept()
            return
        if event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom_out()
            event.accept()
            return
        text = event.text()
        if text.isalpha() and not mods & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier) \
                and not (self.scene() is not None and self.scene().focusItem() is not None):
            self.quick_add_requested.emit(self.cursor_scene_pos(), text)  # type to search
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space_held = False
        if self._pan_from is None:
            self.viewport().unsetCursor()
        super().focusOutEvent(event)

    # -- background and the empty canvas's hint -------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        graph = getattr(self.scene(), "graph", None)
        if graph is None or len(graph):  # len(), not node_items(): a copy of 10,000 per paint
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(MUTED_TEXT_COLOR)
        font = painter.font()
        font.setPointSizeF(12.0)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.EMPTY_HINT)
        painter.restore()

    # -- background ---------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, CANVAS_BACKGROUND)
        zoom = self.zoom_factor()
        step = GRID_SIZE
        while step * zoom < 16:
            step *= 5
        major = step * 5
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        minor_lines, major_lines = [], []
        x = left
        while x <= rect.right():
            line = QLineF(x, rect.top(), x, rect.bottom())
            (major_lines if math.isclose(math.fmod(x, major), 0.0, abs_tol=1e-6) else minor_lines
             ).append(line)
            x += step
        y = top
        while y <= rect.bottom():
            line = QLineF(rect.left(), y, rect.right(), y)
            (major_lines if math.isclose(math.fmod(y, major), 0.0, abs_tol=1e-6) else minor_lines
             ).append(line)
            y += step
        pen = QPen(GRID_COLOR, 0)
        painter.setPen(pen)
        if minor_lines:
            painter.drawLines(minor_lines)
        pen.setColor(GRID_MAJOR_COLOR)
        painter.setPen(pen)
        if major_lines:
            painter.drawLines(major_lines)


__all__ = ["GraphView"]
