"""The window's block gestures: enter a use's definition (double-click), leave it (Escape,
the breadcrumb), expand a use in place, and the block entries of a node's context menu.

While a definition is entered the canvas, inspector and controller work on it (see
:mod:`app.block_scope`); every edit changes the definition, so every use follows.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMenu, QVBoxLayout, QWidget

from app.block_scope import BlockNavigator
from graph_engine.block_face import use_spec
from graph_engine.block_library import read_library
from widgets.canvas import GraphScene
from widgets.canvas.breadcrumb import Breadcrumb
from widgets.drag_mime import library_ref, parse_library_ref

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
        window.document.changed.connect(lambda _changes: self.refresh_palette())
        window.document.graph_replaced.connect(lambda _graph: self.refresh_palette())
        self.refresh_palette()
        self.refresh_libraries()

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
        return self.enter(graph.node(node_id).type, node_id)

    def enter(self, name: str, use_id: str | None = None) -> bool:
        if not self.navigator.enter(name, use_id):
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
            f"every use of {scope.name} follows ({scope.uses()}) · shapes as {scope.use_path or 'its defaults'} " \
            "sees them · Esc leaves"
        self.breadcrumb.set_path(window.document.graph.name or "Graph", path, note)
        window.refresh_inspector()

    # -- the palette: the document's blocks, block libraries ---------------------------
    def refresh_palette(self) -> None:
        blocks = self.window.document.graph.blocks
        self.window.palette.set_blocks([(name, use_spec(d).help) for name, d in blocks.items()])

    def library_folders(self) -> list[Path]:
        """The shipped library (resources/blocks) and the folder chosen in File → Block library folder."""
        folders = [Path(str(resources.files("resources.blocks")))]
        chosen = self.window.settings.value("block_library_folder")
        if isinstance(chosen, str) and chosen and Path(chosen).is_dir():
            folders.append(Path(chosen))
        return folders

    def refresh_libraries(self) -> list[str]:
        """Read the library folders again; returns the notes on files that could not be read."""
        groups, notes = [], []
        for folder in self.library_folders():
            libraries, unread = read_library(folder)
            notes += unread
            for library in libraries:
                entries = [(library_ref(str(library.path), name), use_spec(library.graph.blocks[name]).help
                            + f"\nFrom {library.path}; dropping it imports the block into this file.")
                           for name in library.names]
                groups.append((library.path.name, entries))
        self.window.palette.set_libraries(groups)
        if notes:
            self.window.show_status(f"Block library: {notes[0]}")
        return notes

    def add_from_palette(self, payload: str, position: tuple[float, float] | None) -> bool:
        """A palette entry of a block library: import its block and add a use. False for a
        layer or one of the document's blocks (added like a layer)."""
        ref = parse_library_ref(payload)
        if ref is None:
            return False
        self.controller.add_block_from(ref[0], ref[1], position)
        return True

    def build_menu(self, file_menu: QMenu, action) -> None:
        action(file_menu, "Import &blocks from a file…", self.import_dialog)
        action(file_menu, "Block &library folder…", self.choose_library_folder)

    def import_dialog(self) -> None:
        window = self.window
        path, _ = QFileDialog.getOpenFileName(window, "Import blocks from a graph file", str(window.last_folder()),
                                              "Rosenblatt graph (*.json)")
        if path:
            self.controller.import_blocks(path)

    def choose_library_folder(self) -> None:
        window = self.window
        folder = QFileDialog.getExistingDirectory(window, "A folder of graph files whose blocks the palette lists",
                                                  str(window.last_folder()))
        if folder:
            window.settings.setValue("block_library_folder", folder)
            self.refresh_libraries()

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
