"""What the scene draws over its items: the analysis (shapes, counts, problems), highlights,
training marks (badges, bars), and long edges routed around nodes. A mixin of
:class:`widgets.canvas.scene.GraphScene`, which holds ``_nodes``, ``_edges``, ``_analysis``,
``_highlighted``, ``_overlays``, ``_to_route`` and ``_route_timer``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem

from graph_engine import shape_text
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.geometry import shows_texts
from widgets.canvas.labels import field_size_text, node_problems, param_count_text
from widgets.canvas.node_item import NodeItem
from widgets import theme
from widgets.canvas.overlays import NodeBadge, NodeBar
from widgets.canvas.routing import ROUTE_UP_TO_EDGES
from widgets.theme import canvas_fonts

if TYPE_CHECKING:
    from graph_engine import Analysis


_STAGE = re.compile(r"^([A-Za-z]+\d*)_\d+_[A-Za-z]")


def stage_starts(node_ids: list[str]) -> list[tuple[str, str]]:
    """(stage, its first node) for ids that name a stage and a block (``layer3_2_conv1``)."""
    seen: dict[str, str] = {}
    for node_id in node_ids:
        match = _STAGE.match(node_id)
        if match and match.group(1) not in seen:
            seen[match.group(1)] = node_id
    return [(stage, first) for stage, first in seen.items()
            if sum(1 for n in node_ids if n.startswith(stage + "_")) >= 3]


class SceneMarks:
    # -- analysis and highlight ---------------------------------------------------------
    def set_analysis(self, analysis: "Analysis | None") -> None:
        """Show shapes, parameter counts and diagnostics from ``analysis`` (None clears). An
        analysis that knows what it changed against the one shown redraws just those nodes,
        the nodes whose problems differ, and the edges leaving them."""
        if analysis is not None and analysis is self._analysis:
            return  # already shown (a new scene is given the document's analysis, then hears of it)
        previous, previous_problems = self._analysis, getattr(self, "_problems", {})
        self._analysis = analysis
        problems = self._problems = node_problems(analysis) if analysis is not None else {}
        changed = analysis.changed_since(previous) if analysis is not None else None
        if changed is None:
            self._mark(list(self._nodes), problems)
            return
        redraw = set(changed) | {n for n in problems.keys() | previous_problems.keys()
                                 if problems.get(n) != previous_problems.get(n)}
        self._mark([n for n in redraw if n in self._nodes], problems)

    # -- marks where they can be seen ---------------------------------------------------------
    def _mark(self, node_ids: list[str], problems: dict) -> None:
        """Mark these nodes: their problems at once (a card's colour shows them at any zoom);
        their texts, and the labels of the edges leaving them, only where a view shows texts
        now, the rest when a view comes to show them (:meth:`freshen`, called before a view
        paints). An edit that changes 5,000 shapes costs what the cards on screen cost."""
        if not self.views():  # nothing draws it: at once (a scene read or rendered without a view)
            self._freshen_ids(node_ids)
            return
        for node_id in node_ids:
            severity, messages = problems.get(node_id, (None, []))
            self._nodes[node_id].set_problem(severity, messages)
        self._stale.update(node_ids)
        for view in self.views():
            if shows_texts(view):
                self.freshen(view.mapToScene(view.viewport().rect()).boundingRect())

    def freshen(self, rect: QRectF | None = None) -> None:
        """Bring up to date the marked-stale cards in ``rect`` (every one: None), and the labels
        of their edges, including an edge in ``rect`` whose source card is not."""
        stale = self._stale
        if not stale:
            return
        if rect is None:
            node_ids = list(stale)
        else:
            node_ids = []
            for item in self.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                source = item if isinstance(item, NodeItem) else (
                    item.source_item if isinstance(item, EdgeItem) else None)
                if source is not None and source.node_id in stale:
                    stale.discard(source.node_id)
                    node_ids.append(source.node_id)
        stale.difference_update(node_ids)
        self._freshen_ids(node_ids)

    def freshen_node(self, node_id: str) -> None:
        """One card and its edges' labels up to date (before its tooltip is shown)."""
        if node_id in self._stale:
            self._stale.discard(node_id)
            self._freshen_ids([node_id])

    def _freshen_ids(self, node_ids: list[str]) -> None:
        items = [item for n in node_ids if (item := self._nodes.get(n)) is not None]
        self._mark_nodes([item.node_id for item in items], getattr(self, "_problems", {}))
        self._label_edges([edge.edge for item in items for edge in item.edges if edge.source_item is item])

    def set_show_fields(self, on: bool) -> None:
        """Each card says its receptive field (``RF 5×5``) beside its parameter count (View →
        Receptive fields; the lesson on receptive fields turns it on)."""
        if on != getattr(self, "show_fields", False):
            self.show_fields = on
            self._mark_nodes(self._nodes, getattr(self, "_problems", {}))

    def texts_shown(self) -> bool:
        """Whether any view of the scene is zoomed in far enough to draw texts: below that a
        card is drawn alike whatever its shape and an edge without its label, so a change of
        either needs no repaint (after an edit that changes 5,000 shapes, repainting the
        hundreds of cards on screen at overview zoom cost as much as the rest of the edit)."""
        return any(shows_texts(view) for view in self.views())

    def _mark_nodes(self, node_ids, problems) -> None:
        analysis = self._analysis
        fields = getattr(self, "show_fields", False)
        redraw = self.texts_shown()
        for nid in node_ids:
            item = self._nodes[nid]
            if analysis is None:
                item.set_analysis("", "", None, [], redraw)
                item.set_port_shapes([], [])
                continue
            info = analysis.info(nid)
            shape = " | ".join(shape_text(s) for s in info.out_shapes) if info.out_shapes else ""
            severity, messages = problems.get(nid, (None, []))
            counts = param_count_text(info.params)
            if fields and info.field:
                counts = " · ".join(t for t in (counts, field_size_text(info.field)) if t)
            item.set_analysis(shape, counts, severity, messages, redraw)
            item.set_port_shapes([shape_text(s) if s is not None else "" for s in info.in_shapes or ()],
                                 [shape_text(s) for s in info.out_shapes or ()])

    def _label_edges(self, edges) -> None:
        analysis = self._analysis
        redraw = self.texts_shown()
        for edge in edges:
            shape = analysis.edge_shape(edge) if analysis is not None and self.edge_labels else None
            self._edges[edge].set_label(shape_text(shape) if shape is not None else "", redraw)

    def highlight_nodes(self, node_ids: Iterable[str]) -> None:
        """Draw these nodes highlighted (e.g. a refused cycle) until :meth:`clear_highlight`."""
        self.clear_highlight()
        for nid in node_ids:
            item = self._nodes.get(nid)
            if item is not None:
                item.set_highlighted(True)
                self._highlighted.add(nid)

    def clear_highlight(self) -> None:
        for nid in self._highlighted:
            item = self._nodes.get(nid)
            if item is not None:
                item.set_highlighted(False)
        self._highlighted.clear()

    # -- training overlays ----------------------------------------------------------------
    def set_node_badges(self, badges: dict[str, tuple[str, str]]) -> None:
        """Show a warning badge on each node: ``{node_id: (kind, tooltip)}``; replaces the
        previous badges. Kinds "non_finite" and "exploding" are red, others amber."""
        self._overlays.set_badges(badges, self._nodes)

    def set_node_bars(self, bars: dict[str, tuple[float, str]]) -> None:
        """Show a thin bar on each node: ``{node_id: (fraction 0..1, text)}``; replaces the
        previous bars."""
        self._overlays.set_bars(bars, self._nodes)

    def clear_overlays(self) -> None:
        """Remove every badge and bar."""
        self._overlays.clear()

    def node_badge(self, node_id: str) -> NodeBadge | None:
        return self._overlays.badge(node_id)

    def node_bar(self, node_id: str) -> NodeBar | None:
        return self._overlays.bar(node_id)


    def request_route(self, item: EdgeItem) -> None:
        if len(self._edges) > ROUTE_UP_TO_EDGES:
            return  # bounded cost for huge graphs: plain curves
        self._to_route.add(item)
        if not self._route_timer.isActive():
            self._route_timer.start()

    def update_stages(self) -> None:
        """Name the stages of a big network (``layer1``, ``layer2``: ids' common stems, as an
        import gives them) above each stage's first node, in a fixed screen size: at a zoom
        too far out for names the network still reads as its stages."""
        starts = stage_starts(list(self._nodes))
        if len(starts) < 2:
            starts = []
        if starts == getattr(self, "_stage_starts", None):  # the same stages: follow their first nodes
            for item, (_stage, node_id) in zip(self._stage_items, starts):
                item.setPos(self._nodes[node_id].pos())  # unmoved: no repaint
            return
        self._stage_starts = starts
        for item in getattr(self, "_stage_items", []):
            self.removeItem(item)  # each removal repaints where the label was: only when they change
        self._stage_items = []
        font = QFont(canvas_fonts().title)
        font.setPointSizeF(11.0)
        for stage, node_id in starts:
            text = QGraphicsSimpleTextItem(stage)
            text.setFont(font)
            text.setBrush(theme.TEXT_COLOR)
            text.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            text.setTransform(QTransform.fromTranslate(0, -QFontMetricsF(font).height() - 2))
            text.setPos(self._nodes[node_id].pos())
            text.setZValue(5)
            text.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.addItem(text)
            self._stage_items.append(text)

    def stage_labels(self) -> list[str]:
        return [item.text() for item in getattr(self, "_stage_items", [])]

    def route_edges(self) -> None:
        """Route the long edges that moved around the nodes in their way."""
        if getattr(self, "_stages_stale", True):
            self._stages_stale = False
            self.update_stages()
        items, self._to_route = self._to_route, set()
        for item in items:
            if item.scene() is not self:
                continue
            ends = (item.source_item, item.target_item)

            def blocked(rect, ends=ends) -> bool:  # bounding rectangles: no shapes computed
                return any(isinstance(i, NodeItem) and i not in ends
                           for i in self.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect))
            item.route_around(blocked)

