"""Live training marks on the canvas: a warning badge at a node's corner and a thin bar
along the bottom of its body (e.g. its share of dead units or its gradient norm).

They are child items of the node items, so they move with their node for free.
Node items are rebuilt from model events (a delete undone creates a new item), so
:class:`NodeOverlays` keeps what the app asked for by node id and puts the marks back
on a node item when the scene creates one. Marks draw state only: they take no mouse
buttons (a click goes to the node beneath) but show a tooltip.
"""

from __future__ import annotations

from typing import Callable, Mapping

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from widgets.canvas.geometry import NODE_WIDTH, TEXT_MARGIN, TEXT_MIN_LOD
from widgets.canvas.node_item import NodeItem
from widgets.theme import (
    BADGE_TEXT_COLOR, BAR_FILL_COLOR, BAR_TEXT_COLOR, BAR_TRACK_COLOR, ERROR_COLOR, WARNING_COLOR,
    canvas_fonts,
)

#: badge kinds drawn as a red circle; every other kind is an amber triangle
SEVERE_KINDS = frozenset({"non_finite", "exploding", "error"})
BADGE_SIZE = 16.0
#: the badge's centre, relative to the node's top-right corner
BADGE_OFFSET = QPointF(-3.0, -3.0)
BAR_HEIGHT = 3.0
#: the bar's bottom edge sits this far above the body's bottom edge
BAR_INSET = 2.0
#: the bar's text sits under the node, this far below its body
BAR_TEXT_GAP = 2.0


class NodeBadge(QGraphicsItem):
    """A small "!" mark centred near the node's top-right corner; tooltip = the message."""

    def __init__(self, parent: NodeItem, kind: str, message: str):
        super().__init__(parent)
        self._kind = ""
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(5)
        self.set(kind, message)
        self.relayout()

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def severe(self) -> bool:
        return self._kind in SEVERE_KINDS

    def set(self, kind: str, message: str) -> None:
        if kind != self._kind:
            self._kind = kind
            self.update()
        self.setToolTip(message)

    def relayout(self) -> None:
        self.setPos(QPointF(NODE_WIDTH, 0.0) + BADGE_OFFSET)

    def boundingRect(self) -> QRectF:
        half = BADGE_SIZE / 2 + 1
        return QRectF(-half, -half, 2 * half, 2 * half)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        half = BADGE_SIZE / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(BADGE_TEXT_COLOR, 1.5))
        if self.severe:
            painter.setBrush(ERROR_COLOR)
            painter.drawEllipse(QPointF(0, 0), half, half)
            text_rect = QRectF(-half, -half, BADGE_SIZE, BADGE_SIZE)
        else:
            painter.setBrush(WARNING_COLOR)
            painter.drawPolygon(QPolygonF([QPointF(0, -half), QPointF(half, half - 1),
                                           QPointF(-half, half - 1)]))
            text_rect = QRectF(-half, -half + 2.5, BADGE_SIZE, BADGE_SIZE - 2.5)
        font = QFont(canvas_fonts().title)
        font.setPixelSize(11)
        painter.setFont(font)
        painter.setPen(BADGE_TEXT_COLOR)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, "!")


class NodeBar(QGraphicsItem):
    """A thin bar along the bottom of the node's body filled to ``fraction``, with a
    short text (e.g. "83 % dead") just under the node; tooltip = the text."""

    def __init__(self, parent: NodeItem, fraction: float, text: str):
        super().__init__(parent)
        self._fraction = 0.0
        self._text = ""
        self._height = 0.0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(4)
        self.set(fraction, text)
        self.relayout()

    @property
    def fraction(self) -> float:
        return self._fraction

    @property
    def text(self) -> str:
        return self._text

    def set(self, fraction: float, text: str) -> None:
        fraction = min(1.0, max(0.0, float(fraction))) if fraction == fraction else 0.0
        if (fraction, text) != (self._fraction, self._text):
            self.prepareGeometryChange()
            self._fraction, self._text = fraction, text
            self.setToolTip(text)
            self.update()

    def relayout(self) -> None:
        """Sit at the bottom of the parent's body (its height changes with its ports)."""
        parent = self.parentItem()
        height = parent.height if isinstance(parent, NodeItem) else 0.0
        if height != self._height:
            self._height = height
            self.setPos(0.0, height)

    def track_rect(self) -> QRectF:
        """The bar's full length, in this item's coordinates (origin: body's bottom-left)."""
        return QRectF(TEXT_MARGIN, -BAR_INSET - BAR_HEIGHT, NODE_WIDTH - 2 * TEXT_MARGIN, BAR_HEIGHT)

    def fill_rect(self) -> QRectF:
        track = self.track_rect()
        return QRectF(track.left(), track.top(), track.width() * self._fraction, track.height())

    def text_rect(self) -> QRectF:
        return QRectF(0.0, BAR_TEXT_GAP, NODE_WIDTH, canvas_fonts().small_metrics.height() + 1)

    def boundingRect(self) -> QRectF:
        return self.track_rect().united(self.text_rect()).adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(BAR_TRACK_COLOR))
        painter.drawRect(self.track_rect())
        painter.setBrush(QBrush(BAR_FILL_COLOR))
        painter.drawRect(self.fill_rect())
        if self._text and option.levelOfDetailFromTransform(painter.worldTransform()) >= TEXT_MIN_LOD:
            painter.setFont(canvas_fonts().small)
            painter.setPen(BAR_TEXT_COLOR)
            painter.drawText(self.text_rect().adjusted(TEXT_MARGIN, 0, -TEXT_MARGIN, 0),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self._text)


def _drop(item: QGraphicsItem) -> None:
    """Take a mark off its node and out of the scene."""
    scene = item.scene()
    if scene is not None:
        scene.removeItem(item)
    if item.parentItem() is not None:
        item.setParentItem(None)


class NodeOverlays:
    """The badges and bars the app asked for, by node id, and the items that show them.

    Entries for nodes that have no item are kept until the next ``set_*`` call, so a
    node that comes back (a delete undone) gets its marks back; the items themselves
    are dropped with their node.
    """

    def __init__(self) -> None:
        self._badges: dict[str, tuple[str, str]] = {}
        self._bars: dict[str, tuple[float, str]] = {}
        # Python references to the child items: PySide deletes an item whose wrapper dies
        self._badge_items: dict[str, NodeBadge] = {}
        self._bar_items: dict[str, NodeBar] = {}

    def badge(self, node_id: str) -> NodeBadge | None:
        return self._badge_items.get(node_id)

    def bar(self, node_id: str) -> NodeBar | None:
        return self._bar_items.get(node_id)

    def set_badges(self, badges: Mapping[str, tuple[str, str]], nodes: Mapping[str, NodeItem]) -> None:
        self._badges = {node_id: (str(kind), str(text)) for node_id, (kind, text) in badges.items()}
        _sync(self._badge_items, self._badges, nodes, NodeBadge)

    def set_bars(self, bars: Mapping[str, tuple[float, str]], nodes: Mapping[str, NodeItem]) -> None:
        self._bars = {node_id: (float(fraction), str(text)) for node_id, (fraction, text) in bars.items()}
        _sync(self._bar_items, self._bars, nodes, NodeBar)

    def clear(self) -> None:
        self._badges.clear()
        self._bars.clear()
        for items in (self._badge_items, self._bar_items):
            for item in items.values():
                _drop(item)
            items.clear()

    def node_added(self, node_id: str, node: NodeItem) -> None:
        """The scene made an item for ``node_id``: put its marks (back) on it."""
        one = {node_id: node}
        _sync(self._badge_items, self._badges, one, NodeBadge, only=node_id)
        _sync(self._bar_items, self._bars, one, NodeBar, only=node_id)

    def node_removed(self, node_id: str) -> None:
        """The scene drops the item of ``node_id`` (its children go with it)."""
        for items in (self._badge_items, self._bar_items):
            item = items.pop(node_id, None)
            if item is not None:
                _drop(item)

    def relayout(self, node_id: str) -> None:
        """The node's size may have changed: move its marks."""
        for item in (self._badge_items.get(node_id), self._bar_items.get(node_id)):
            if item is not None:
                item.relayout()


def _sync(items: dict, wanted: Mapping[str, tuple], nodes: Mapping[str, NodeItem],
          factory: Callable[..., QGraphicsItem], only: str | None = None) -> None:
    """Make ``items`` show ``wanted`` on ``nodes``: update, create and drop marks."""
    ids = [only] if only is not None else list(items)
    for node_id in ids:
        item = items.get(node_id)
        if item is None:
            continue
        node = nodes.get(node_id)
        if node_id not in wanted or (node is not None and item.parentItem() is not node) or (
                node is None and only is None):
            _drop(items.pop(node_id))
    for node_id in ([only] if only is not None else wanted):
        if node_id not in wanted:
            continue
        node = nodes.get(node_id)
        if node is None:
            continue
        item = items.get(node_id)
        if item is None:
            items[node_id] = factory(node, *wanted[node_id])
        else:
            item.set(*wanted[node_id])
