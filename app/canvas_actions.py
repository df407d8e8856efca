"""What the canvas offers beyond dragging: context menus, search-to-add at the cursor (Tab),
find a node (Ctrl+F), rename in place, and exporting the diagram.

Every action ends in an intent for :class:`app.controller.EditorController` (one command
per gesture) or in the window's own actions (copy, paste, fit, view code). The menus open
with ``popup`` (never a nested event loop), and the last one stays in ``last_menu`` so a
test can pick its actions as a person would.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from graph_engine import Edge, layer_types
from widgets.canvas import NODE_MIN_HEIGHT, NODE_WIDTH, GraphScene
from widgets.canvas.diagram import export_diagram
from widgets.canvas.title_editor import TitleEditor
from widgets.search_popup import SearchPopup

if TYPE_CHECKING:
    from app.main_window import MainWindow

#: layers offered first in a context menu's "Insert" list
COMMON_LAYERS = ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Dropout", "Linear", "Flatten")


class CanvasActions:
    """See the module docstring; one per window, bound to each new scene."""

    def __init__(self, window: "MainWindow"):
        self.window = window
        self.controller = window.controller
        self.view = window.view
        self.title_editor = TitleEditor(self.view)
        self.title_editor.committed.connect(self.controller.rename)
        self.quick_add = SearchPopup(window, "Add a layer…")
        self.quick_add.chosen.connect(self._quick_add_chosen)
        self.finder = SearchPopup(window, "Find a node by id, label or type…")
        self.finder.chosen.connect(window.focus_node)
        self.view.quick_add_requested.connect(self.open_quick_add)
        self.last_menu: QMenu | None = None
        self._add_at: QPointF | None = None

    def bind(self, scene: GraphScene) -> None:
        scene.context_requested.connect(self.open_menu)
        scene.title_activated.connect(self.rename_in_place)
        scene.reconnect_requested.connect(self.controller.reconnect)
        scene.node_dropped_on_edge.connect(self.controller.drop_on_edge)
        scene.layer_dropped_on_edge.connect(self._layer_dropped_on_edge)
        scene.drop_refused.connect(lambda why: self.window.show_status(f"Not inserted on the edge: {why}"))

    def _layer_dropped_on_edge(self, type_name: str, edge, point: QPointF) -> None:
        """A palette layer dropped onto an edge: inserted there, centred on the drop point."""
        self.controller.insert_layer(type_name, edge, (point.x() - NODE_WIDTH / 2, point.y() - NODE_MIN_HEIGHT / 2))

    # -- search to add, find ------------------------------------------------------------
    def open_quick_add(self, scene_pos: QPointF, text: str = "") -> None:
        self._add_at = QPointF(scene_pos)
        blocks = [(name, "Block", name) for name in self.controller.graph.blocks]
        entries = blocks + [(spec.type, spec.category, spec.type) for spec in layer_types()]
        self.quick_add.open_at(self._global(scene_pos), entries, text)

    def _quick_add_chosen(self, type_name: str) -> None:
        """The chosen layer at the cursor, wired after the selected node if there is one."""
        at = self._add_at or self.view.cursor_scene_pos()
        selected = self.window.selected
        after = selected[0] if len(selected) == 1 else None
        self.controller.add_layer(type_name, (at.x() - NODE_WIDTH / 2, at.y() - NODE_MIN_HEIGHT / 2), after,
                                  at_cursor=True)

    def open_finder(self) -> None:
        graph = self.controller.graph
        entries = [(node.id, f"{node.label + ' · ' if node.label else ''}{node.type}", node.id) for node in graph]
        centre = self.view.viewport().rect().center()
        self.finder.open_at(self.view.viewport().mapToGlobal(QPoint(centre.x() - 150, 20)), entries)

    def _global(self, scene_pos: QPointF) -> QPoint:
        return self.view.viewport().mapToGlobal(self.view.mapFromScene(scene_pos))

    # -- rename -------------------------------------------------------------------------
    def rename_in_place(self, node_id: str, as_id: bool = False) -> None:
        scene = self.window.scene
        item = scene.node_item(node_id) if scene is not None else None
        if item is not None:
            self.title_editor.start(item, as_id)

    # -- context menus ------------------------------------------------------------------
    def open_menu(self, kind: str, target, scene_pos: QPointF, screen_pos: QPoint) -> QMenu:
        menu = QMenu(self.window)
        if kind == "node":
            self._node_menu(menu, target)
        elif kind == "edge":
            self._edge_menu(menu, target)
        else:
            self._canvas_menu(menu, scene_pos)
        self.last_menu = menu
        menu.popup(screen_pos)
        return menu

    def _add(self, menu: QMenu, text: str, slot, shortcut: str | None = None) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut:
            action.setShortcut(shortcut)  # shown as a hint; the window's action owns the key
        return action

    def _insert_menu(self, menu: QMenu, title: str, insert) -> None:
        sub = menu.addMenu(title)
        names = [spec.type for spec in layer_types()]
        for name in [n for n in COMMON_LAYERS if n in names]:
            self._add(sub, name, lambda n=name: insert(n))
        sub.addSeparator()
        more = sub.addMenu("All layers")
        for name in names:
            self._add(more, name, lambda n=name: insert(n))

    def _node_menu(self, menu: QMenu, node_id: str) -> None:
        window, controller = self.window, self.controller
        selected = window.selected if node_id in window.selected else [node_id]
        self._add(menu, "Rename", lambda: self.rename_in_place(node_id), "F2")
        self._add(menu, "Change id…", lambda: self.rename_in_place(node_id, as_id=True))
        menu.addSeparator()
        self._insert_menu(menu, "Insert layer before", lambda t: controller.insert_before(t, node_id))
        self._insert_menu(menu, "Insert layer after", lambda t: controller.add_layer(t, None, node_id))
        self._add(menu, "Duplicate", lambda: controller.duplicate(selected), "Ctrl+D")
        self._add(menu, "Copy", window.copy_selection, "Ctrl+C")
        menu.addSeparator()
        self._add(menu, "Disconnect", lambda: controller.disconnect_node(node_id))
        self._add(menu, "Delete", lambda: controller.delete(selected), "Delete")
        self._add(menu, "Delete and bridge", lambda: controller.delete_and_bridge(node_id), "Shift+Delete")
        menu.addSeparator()
        window.blocks.add_menu_entries(menu, node_id, selected, self._add)
        self._add(menu, "Select upstream", lambda: window.scene.select_ids(controller.neighbours(node_id, False)))
        self._add(menu, "Select downstream", lambda: window.scene.select_ids(controller.neighbours(node_id, True)))
        self._add(menu, "Show code", lambda: window.view_code(node_id))

    def _edge_menu(self, menu: QMenu, edge: Edge) -> None:
        self._insert_menu(menu, "Insert layer", lambda t: self.controller.insert_layer(t, edge))
        self._add(menu, "Delete", lambda: self.controller.delete([], [edge]), "Delete")

    def _canvas_menu(self, menu: QMenu, scene_pos: QPointF) -> None:
        window = self.window
        self._add(menu, "Add layer here…", lambda: self.open_quick_add(scene_pos), "Tab")
        self._add(menu, "Paste", lambda: window.paste(scene_pos), "Ctrl+V")
        menu.addSeparator()
        self._add(menu, "Lay out", self.controller.auto_layout, "L")
        self._add(menu, "Fit to window", self.view.fit, "F")
        self._add(menu, "Find a node…", self.open_finder, "Ctrl+F")
        self._add(menu, "Export diagram…", self.export_dialog)

    # -- the diagram as a picture -------------------------------------------------------
    def export_dialog(self) -> None:
        window = self.window
        name = window.document.graph.name or "graph"
        path, _ = QFileDialog.getSaveFileName(window, "Export the diagram", str(window.last_folder() / f"{name}.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> bool:
        scene = self.window.scene
        if scene is None:
            return False
        try:
            export_diagram(scene, path)
        except OSError as error:
            self.window.show_status(f"Cannot export the diagram: {error}")
            return False
        self.window.show_status(f"Exported the diagram to {path}")
        return True
