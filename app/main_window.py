"""The main window: canvas in the centre, palette, inspector and problems in docks.

It wires views to the document: views emit intents, the controller pushes commands,
the document re-analyses and every view redraws from the model's events.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QMainWindow, QMessageBox, QWidget,
)

from app.block_ui import BlockUi
from app.canvas_port import SceneOverlay
from app.canvas_actions import CanvasActions
from app.controller import EditorController, free_spot
from app.file_actions import FileActions
from app.selection_actions import SelectionActions
from app.large_graphs import edge_labels_for
from app.dock_layout import DEFAULT_SIZE, DockMaximizer, arrange_default, fit_to_screen, present_dock, size_docks
from app.document import Document
from app.export_jobs import stop_exports
from app.interop_actions import export_dialog, import_dialog
from app.recovery import Autosaver, discard_recovery, pending_recovery
from app.recent_files import RecentFiles
from app.run_workspace import RUN_VIEWS, RunWorkspace
from app.sweep_workspace import SWEEP_VIEWS, SweepWorkspace, open_run_window
from app.shortcuts import shortcuts_html
from graph_engine import (
    CompileError, DEFAULT_TEMPLATE, Graph, field_text, generate_code,
    load_template,
)
from graph_engine.block_face import spec_of
from widgets.canvas import NODE_MIN_HEIGHT, NODE_WIDTH, GraphScene, GraphView
from widgets.color_scheme import apply_scheme, follow_system, system_is_dark
from widgets.code_view import CodeView
from widgets.inspector import Inspector
from widgets.palette import LayerPalette
from widgets.problems import ProblemsPanel
from widgets.summary_bar import SummaryBar


class MainWindow(FileActions, SelectionActions, QMainWindow):
    """Rosenblatt's editor window for one document."""

    def __init__(self, graph: Graph | None = None, path: Path | None = None, autosave: bool = True):
        """``autosave`` False (screenshots, tests) also leaves the remembered layout alone."""
        super().__init__()
        self.setObjectName("RosenblattMainWindow")
        self.document = Document(graph if graph is not None else load_template(DEFAULT_TEMPLATE), self)
        self.document.path = path
        self.controller = EditorController(self.document, self)
        self.settings = QSettings("Rosenblatt", "Rosenblatt")
        self.scene: GraphScene | None = None
        #: a big graph's scene, built under a progress dialog before the document switched to it
        self.prebuilt_scene: GraphScene | None = None
        self.view = GraphView()
        self.setCentralWidget(self.view)
        self.palette = LayerPalette()
        self.inspector = Inspector()
        self.problems = ProblemsPanel()
        self.summary = SummaryBar()
        self._docks = {
            "palette": self._dock("Layers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
            "problems": self._dock("Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.statusBar().addPermanentWidget(self.summary)  # no stretch: messages need the room
        self.selected: list[str] = []
        self.workspace = RunWorkspace(self.document, self.controller.edit_training,
                                      SceneOverlay(lambda: self.scene, self.focus_node), self._show_status, self)
        self.training = self.workspace.controller
        for key, dock in self.workspace.docks.items():
            area = Qt.DockWidgetArea.RightDockWidgetArea if key == "training" else Qt.DockWidgetArea.BottomDockWidgetArea
            self.addDockWidget(area, dock)
        self._docks.update(self.workspace.docks)
        self.sweeps = SweepWorkspace(self.document, self.workspace.views["curves"], self.present_dock,
                                     lambda run_dir: open_run_window(self, run_dir), self._show_status, self)
        for dock in self.sweeps.docks.values():
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self._docks.update(self.sweeps.docks)
        self.canvas_actions = CanvasActions(self)
        self.blocks = BlockUi(self)
        self._build_actions()
        self._wire()
        self.bind_scene(self.document.graph)
        self._show_problems()
        self.refresh_inspector()
        self._update_title()
        self.setAcceptDrops(True)
        arrange_default(self, self._docks, [*(key for key, _title in RUN_VIEWS), *SWEEP_VIEWS])
        self._default_state = self.saveState()
        self._maximizer = DockMaximizer(self, self._docks)
        fit_to_screen(self, *DEFAULT_SIZE)
        self.persistent = autosave
        #: the layout is sized on the first show unless a remembered one was restored
        self._sized = self.persistent and self._restore_layout()
        follow_system(self._scheme_changed)
        self.autosaver = Autosaver(self.document, parent=self) if autosave else None
        if self.autosaver is not None:
            self.autosaver.failed.connect(lambda text: self.statusBar().showMessage(text, 15000))

    # -- construction -------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, context=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if context is not None:
            action.setShortcutContext(context)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&New", self.new_document, QKeySequence.StandardKey.New)
        self._action(file_menu, "New from &template…", self.new_from_template, "Ctrl+Shift+N")
        self._action(file_menu, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_files = RecentFiles(self.settings, self.recent_menu, self.open_path)
        self._action(file_menu, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save &as…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self._action(file_menu, "Re&vert", self.revert)
        self._action(file_menu, "&Name the graph…", self.name_graph)
        file_menu.addSeparator()
        self._action(file_menu, "View &code…", self.view_code, "Ctrl+E")
        export_menu = file_menu.addMenu("&Export")
        for fmt, text in (("python", "&Python module…"), ("python-training", "Python with a &training script…"),
                          ("onnx", "&ONNX…"), ("torchscript", "&TorchScript…")):
            self._action(export_menu, text, lambda _checked=False, f=fmt: export_dialog(self, f))
        self._action(file_menu, "&Import PyTorch model…", lambda: import_dialog(self))
        self.blocks.build_menu(file_menu, self._action)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (undo, redo):
            edit.addAction(action)
            self.addAction(action)
        edit.addSeparator()
        self._action(edit, "&Copy", self.copy_selection, QKeySequence.StandardKey.Copy)
        self._action(edit, "&Paste", self.paste, QKeySequence.StandardKey.Paste)
        self._action(edit, "&Duplicate", self.duplicate_selection, "Ctrl+D")
        self._action(edit, "&Make block", lambda: self.controller.make_block(self.selected), "Ctrl+G")
        self._action(edit, "De&lete", self.delete_selection)
        self._action(edit, "Delete and &bridge", self.delete_and_bridge, "Shift+Delete")
        self._action(edit, "Re&name", self.rename_selection, "F2")
        self._action(edit, "&Find a node…", self.canvas_actions.open_finder, QKeySequence.StandardKey.Find)
        self._action(edit, "Select &all", self.select_all, QKeySequence.StandardKey.SelectAll)

        view = bar.addMenu("&View")
        self._action(view, "&Fit", self.view.fit, "F")
        self._action(view, "Zoom &100 %", self.view.reset_zoom, "Ctrl+0")
        self._action(view, "Auto-&layout", self.controller.auto_layout, "L")
        self._action(view, "&Export diagram…", self.canvas_actions.export_dialog)
        self.minimap_action = self._action(view, "&Minimap", lambda: self.view.minimap.set_enabled(
            self.minimap_action.isChecked()), "M")
        self.minimap_action.setCheckable(True)
        self.minimap_action.setChecked(True)
        self.fields_action = self._action(view, "&Receptive fields", lambda: self.scene.set_show_fields(
            self.fields_action.isChecked()))
        self.fields_action.setCheckable(True)
        self.snap_action = self._action(view, "Snap to &grid", self._toggle_snap)
        self.snap_action.setCheckable(True)
        view.addSeparator()
        self._action(view, "&Reset layout", self.reset_layout)
        for dock in self._docks.values():
            view.addAction(dock.toggleViewAction())

        training_menu = bar.addMenu("&Training")
        self.workspace.build_menu(training_menu)
        self.sweeps.build_menu(training_menu)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Lessons…", self.show_lessons)
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")

    def _wire(self) -> None:
        document, controller = self.document, self.controller
        document.analysis_changed.connect(lambda _analysis: self._show_problems())
        document.analysis_changed.connect(self._scene_analysis)
        document.changed.connect(lambda _changes: self.refresh_inspector())
        document.graph_replaced.connect(self._graph_replaced)
        document.state_changed.connect(self._update_title)
        controller.message.connect(self._show_status)
        controller.highlight.connect(self._highlight)
        controller.select.connect(self._select_ids)
        self.palette.add_requested.connect(self._palette_add)
        self.inspector.params_edited.connect(self._params_edited)
        self.inspector.label_edited.connect(controller.set_label)
        self.inspector.vary_requested.connect(self.sweeps.vary_dialog)
        self.workspace.panel.vary_requested.connect(self.sweeps.vary_dialog)
        self.problems.node_activated.connect(self.focus_node)
        self.problems.fix_requested.connect(controller.apply_fix)
        self.training.problems_changed.connect(lambda _p: self._show_problems())
        self.training.message.connect(self._show_status)
        self.workspace.branch_requested.connect(self.branch_from_run)

    def _graph_replaced(self, graph: Graph) -> None:
        self.blocks.forget()
        self.bind_scene(graph)

    def bind_scene(self, graph: Graph) -> None:
        """Build a scene for ``graph`` (at start, after New/Open/Revert, and for the block
        definition entered or left)."""
        if self.scene is not None:
            self.scene.blockSignals(True)  # a late gesture on the old scene must not edit the new graph
            self.scene.detach()
        scene, self.prebuilt_scene = self.prebuilt_scene, None
        if scene is None or scene.graph is not graph:
            scene = GraphScene(graph)
            scene.edge_labels = edge_labels_for(graph)
        scene.snap_to_grid = self.snap_action.isChecked()
        scene.show_fields = self.fields_action.isChecked()
        scene.connect_requested.connect(self.controller.connect_ports)
        scene.nodes_moved.connect(self.controller.move_nodes)
        scene.delete_requested.connect(self.controller.delete)
        scene.layer_dropped.connect(self._layer_dropped)
        scene.selection_changed_ids.connect(self._selection_changed)
        self.canvas_actions.bind(scene)
        self.blocks.bind(scene)
        self.scene = scene
        self.view.setScene(scene)
        scene.set_analysis(self.controller.analysis)
        self.selected = []
        QTimer.singleShot(0, self.view.fit)

    def _scene_analysis(self, _analysis=None) -> None:
        if self.scene is not None:
            self.scene.set_analysis(self.controller.analysis)

    # -- reacting to the model ------------------------------------------------------
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    _show_status = show_status

    def _show_problems(self) -> None:
        """The graph's diagnostics and, first, whatever stopped a training start."""
        graph = list(self.document.analysis.diagnostics) if len(self.document.graph) else []  # an empty canvas hints instead
        self.problems.set_diagnostics(list(self.training.problems) + graph)
        if self.training.problems:
            self._docks["problems"].raise_()

    def _selection_changed(self, ids: list) -> None:
        self.selected = list(ids)
        self.refresh_inspector()
        if len(self.selected) == 1:  # inside a block: the layer of the use it was entered through
            self.workspace.node_selected(self.blocks.navigator.node_path(self.selected[0]))

    def refresh_inspector(self) -> None:
        graph, analysis = self.controller.graph, self.controller.analysis
        node_id = self.selected[0] if len(self.selected) == 1 and self.selected[0] in graph else None
        node = graph.node(node_id) if node_id else None
        info = analysis.info(node_id) if node_id else None
        self.inspector.show_node(node, info, spec_of(graph, node.type) if node is not None else None)
        self.summary.set_summary(analysis.total_params, analysis.total_macs, node_id,
                                 field_text(info.field) if info is not None else None,
                                 unknown=analysis.unknown_count, count=len(graph))

    def _scheme_changed(self, _scheme=None) -> None:
        apply_scheme(system_is_dark())
        self.repaint_canvas()

    def repaint_canvas(self) -> None:
        """Everything on the canvas drawn again (another colour scheme)."""
        if self.scene is not None:
            for item in self.scene.items():
                item.update()
        self.view.viewport().update()
        self.view.minimap.redraw()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.name}[*] — Rosenblatt")
        self.setWindowModified(self.document.dirty)

    def _highlight(self, ids: list) -> None:
        if self.scene is not None:
            if ids:
                self.scene.highlight_nodes(ids)
            else:
                self.scene.clear_highlight()

    def _select_ids(self, ids: list) -> None:
        if self.scene is not None:
            self.scene.select_ids(ids)

    # -- intents that need the window's context -----------------------------------
    def _palette_add(self, type_name: str) -> None:
        if self.blocks.add_from_palette(type_name, None):
            return
        after = self.selected[0] if len(self.selected) == 1 else None
        position = None
        if after is None:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            position = free_spot(self.controller.graph, (centre.x(), centre.y()))
        self.controller.add_layer(type_name, position, after)

    def _layer_dropped(self, type_name: str, point: QPointF) -> None:
        """Centre the new node on the drop point (positions are top-left corners)."""
        position = (point.x() - NODE_WIDTH / 2, point.y() - NODE_MIN_HEIGHT / 2)
        if not self.blocks.add_from_palette(type_name, position):
            self.controller.add_layer(type_name, position)

    def _params_edited(self, node_id: str, changes: dict, continuing: bool) -> None:
        if not self.controller.edit_params(node_id, changes, continuing):
            self.refresh_inspector()

    def _toggle_snap(self) -> None:
        if self.scene is not None:
            self.scene.snap_to_grid = self.snap_action.isChecked()

    def focus_node(self, node_id: str) -> None:
        """Select a node and centre the view on it (from the Problems panel)."""
        if self.scene is None or node_id not in self.controller.graph:
            return
        self.scene.select_ids([node_id])
        item = self.scene.node_item(node_id)
        if item is not None:
            self.view.centerOn(item)

    def view_code(self, node_id: str | None = None) -> None:
        """The generated module; with ``node_id``, scrolled to where that node is made."""
        try:
            source = generate_code(self.document.graph)
        except CompileError as error:
            QMessageBox.warning(self, "No code for a graph with errors", str(error))
            return
        self.code_view = CodeView(source, f"PyTorch code — {self.document.graph.name}", self)
        if node_id:
            self.code_view.find(f"self.{node_id}")
        self.code_view.show()

    def show_lessons(self) -> None:
        """Help → Lessons: pick one and open it (see app/lesson_actions.py)."""
        from app.lesson_actions import open_lesson
        from app.lessons_gallery import LessonsGallery

        self.lessons_gallery = LessonsGallery(self)
        if self.lessons_gallery.exec() and self.lessons_gallery.chosen:
            open_lesson(self, self.lessons_gallery.chosen, self.lessons_gallery.use_current)

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_html())

    # -- recent files, layout, drops, closing ---------------------------------------
    def _restore_layout(self) -> bool:
        state = self.settings.value("window_state")
        return isinstance(state, QByteArray) and self.restoreState(state)

    def reset_layout(self) -> None:
        """View → Reset layout: the default docks, sized for this window."""
        self._maximizer.restore()
        self.restoreState(self._default_state)
        arrange_default(self, self._docks, [*(key for key, _title in RUN_VIEWS), *SWEEP_VIEWS])

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._sized:
            self._sized = True  # the default layout's sizes need the window's real size
            size_docks(self, self._docks)

    def present_dock(self, key: str) -> None:
        """Show a dock in front, docked, with room to read it (screenshots)."""
        present_dock(self, self._docks, key)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            path = urls[0].toLocalFile()
            # finish the drop first: asking about unsaved changes inside it would block the
            # application the file was dragged from
            QTimer.singleShot(0, lambda: self.open_path(path))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.training.running:
            answer = QMessageBox.question(
                self, "Training in progress",
                "A run is in progress. Stop it and close? (Its last checkpoint is kept.)")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        if not self._confirm_discard() or not stop_exports(self):
            event.ignore()
            return
        self.training.shutdown()
        if self.persistent:
            self.settings.setValue("window_state", self.saveState())
            discard_recovery()
        event.accept()

    def offer_recovery(self) -> None:
        """After a crash: offer the autosaved graph (called once the window shows)."""
        recovery = pending_recovery()
        if recovery is None:
            return
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"Rosenblatt did not close normally. Restore the unsaved graph "
            f"'{recovery.graph.name}'{f' ({recovery.path.name})' if recovery.path else ''}?")
        if answer == QMessageBox.StandardButton.Yes:
            self.document.replace_graph(recovery.graph, recovery.path)
            self.document.undo_stack.resetClean()  # restored work is unsaved work
            self._update_title()
        discard_recovery(recovery)
