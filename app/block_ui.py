"""The window's block gestures: enter a use's definition (double-click), leave it (Escape,
the breadcrumb), expand a use in place, and the block entries of a node's context menu.

While a definition is entered the canvas, inspector and controller work on it (see
:mod:`app.block_scope`); every edit changes the definition, so every use follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget

from app.block_scope import BlockNavigator
from widgets.canvas import GraphScene
from widgets.canvas.breadcrumb import Breadcrumb

if TYPE_CHECKING:
    from app.main_window import MainWindow


class BlockUi:
    """One per window: the navigator, the breadcrumb above the canvas, the menu entries."""

    def __init__(self, window: "MainWindow"):
        self.window = window
        self.controller = window.controller
        self.navigator = BlockNavigator(lambda: window.document.graph, window)
        self.controller.navigator = self.navigator
        self.breadcrumb = Breadcrumb()
        self.breadcrumb.level_chosen.connect(self.navigator.go_to)
        view = window.takeCentralWidget()  # keep the view: setCentralWidget would delete it
        host = QWidget(window)
        layout = QVBoxLayout(host)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.breadcrumb)
        layout.addWidget(view, 1)
        window.setCentralWidget(host)
        self.navigator.changed.connect(self._moved)

    @property
    def path(self) -> list[str]:
        return self.navigator.path

    def bind(self, scene: GraphScene) -> None:
        scene.block_opened.connect(self.open_use)
        scene.leave_requested.connect(self.navigator.leave)

    def forget(self) -> None:
        """Another graph was opened: back to its top level (no scene rebuilt here)."""
        self.navigator.forget()
        self.breadcrumb.set_path("", [])

    # -- entering and leaving ---------------------------------------------------------
    def open_use(self, node_id: str) -> bool:
        """Edit the definition a use of the shown graph refers to."""
        graph = self.controller.graph
        if node_id not in graph or graph.node(node_id).type not in graph.blocks:
            return False
        return self.enter(graph.node(node_id).type)

    def enter(self, name: str) -> bool:
        if not self.navigator.enter(name):
            return False
        scope = self.navigator.scope
        self.window.show_status(f"Editing block {name}: each change applies to its {scope.uses()} "
                                f"use{'s' if scope.uses() != 1 else ''}; Escape leaves")
        return True

    def _moved(self, path: list[str]) -> None:
        window = self.window
        window.bind_scene(self.controller.graph)
        scope = self.navigator.scope
        note = "" if scope is None else \
            f"every use of {scope.name} follows ({scope.uses()}) · shapes as its first use sees them · Esc leaves"
        self.breadcrumb.set_path(window.document.graph.name or "Graph", path, note)
        window.refresh_inspector()

    # -- the context menu -------------------------------------------------------------
    def add_menu_entries(self, menu: QMenu, node_id: str, selected: list[str], add) -> None:
        """A use's entries (edit its definition, expand, make unique, explode), and Make
        block for a selection."""
        graph, controller = self.controller.graph, self.controller
        if node_id in graph and graph.node(node_id).type in graph.blocks:
            name = graph.node(node_id).type
            add(menu, f"Edit block {name}", lambda: self.enter(name), "Double-click")
            scene = self.window.scene
            if scene is not None:
                expanded = scene.is_expanded(node_id)
                add(menu, "Collapse" if expanded else "Expand in place",
                    lambda: scene.set_expanded(node_id, not expanded))
            add(menu, "Make unique", lambda: controller.make_block_unique(node_id))
            add(menu, "Explode", lambda: controller.explode_block(node_id))
            menu.addSeparator()
        add(menu, "Make block", lambda: controller.make_block(selected), "Ctrl+G")
