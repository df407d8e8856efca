"""The run workspace: the Training panel, the views of a run, and how their intents reach
the training controller.

A room with narrow doors: it is built from explicit ports — the document (read, and
its signals), ``edit_training`` (the one way to change settings: an undoable command),
a :class:`CanvasOverlay` (badges, bars, highlight, focus), a status callable and a parent
for dialogs — and fills a menu it is given. It knows nothing of the main window. It
builds one dock per view; the window places them. Every connection is made once, here
in the constructor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QFrame, QMenu, QMessageBox, QScrollArea, QWidget

from app.bridge import NETWORK, TRAINING
from app.document import Document
from app.patch_nodes import PatchNodes
from app.training_controller import TrainingController, runs_root
from graph_engine import Analysis, Graph, analyze
from graph_engine.cuda_probe import cuda_device_name
from graph_engine.patch_choice import patch_candidates
from graph_engine.training.health import node_health, overlay_values
from graph_engine.training.history import RunHistory
from graph_engine.training.runs import read_json
from widgets.training_panel import TrainingPanel
from widgets.visibility import on_screen

#: panels whose controls scroll in a narrow dock rather than widening the window
SCROLLED = ("training", "text")
#: the run's views in dock order: (key, dock title)
RUN_VIEWS = (("curves", "Curves"), ("activations", "Activations"), ("filters", "Filters"),
             ("patches", "Patches"), ("health", "Health"), ("evaluation", "Evaluation"), ("text", "Text"),
             ("encoder", "Encoder state"), ("boundary", "Boundary"))
#: canvas overlay choices: (key, menu text)
OVERLAYS = (("none", "&None"), ("dead", "&Dead units"), ("gradient", "&Gradient norm"))


class CanvasOverlay(Protocol):
    """What the workspace may ask of the canvas (whichever scene is current)."""

    def set_node_badges(self, badges: dict[str, tuple[str, str]]) -> None: ...
    def set_node_bars(self, bars: dict[str, float]) -> None: ...
    def clear_overlays(self) -> None: ...
    def highlight_nodes(self, node_ids: list[str]) -> None: ...
    def clear_highlight(self) -> None: ...
    def focus_node(self, node_id: str) -> None: ...


def _view_classes() -> dict[str, type]:
    from widgets.activations_panel import ActivationsPanel
    from widgets.boundary_panel import BoundaryPanel
    from widgets.curves_panel import CurvesPanel
    from widgets.encoder_state_panel import EncoderStatePanel
    from widgets.evaluation_panel import EvaluationPanel
    from widgets.filters_panel import FiltersPanel
    from widgets.health_panel import HealthPanel
    from widgets.patches_panel import PatchesPanel
    from widgets.text_panel import TextPanel

    return {"curves": CurvesPanel, "activations": ActivationsPanel, "filters": FiltersPanel,
            "patches": PatchesPanel, "health": HealthPanel, "evaluation": EvaluationPanel, "text": TextPanel,
            "encoder": EncoderStatePanel, "boundary": BoundaryPanel}


class RunWorkspace(QObject):
    """See the module docstring."""

    #: a finished run's folder (Path) to branch from: the window opens its graph as a new document
    branch_requested = Signal(object)

    def __init__(self, document: Document, edit_training: Callable[[dict, bool], bool],
                 canvas: CanvasOverlay, status: Callable[[str], None], dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.document = document
        self._edit_training = edit_training
        self.canvas = canvas
        self._status = status
        self._dialog_parent = dialog_parent
        self.controller = TrainingController(document, self)
        self.overlay = "dead"
        self.panel = TrainingPanel(cuda_name=cuda_device_name())
        self.views: dict[str, QWidget] = {"training": self.panel}
        self.docks: dict[str, QDockWidget] = {"training": self._dock("training", "Training", self.panel)}
        classes = _view_classes()
        for key, title in RUN_VIEWS:
            self.views[key] = classes[key]()
            self.docks[key] = self._dock(key, title, self.views[key])
        for key, view in self.views.items():
            if key != "patches":  # patches are computed on request, not streamed
                self.controller.add_view(view)
        #: (graph, its analysis) of the run shown, for the patch node list
        self._run_analysis: tuple[Graph, Analysis] | None = None
        self._document_patch_nodes = PatchNodes()
        #: the Patches view's layer list waits for the view to be shown (see _update_patch_nodes)
        self._patch_nodes_stale = False
        self._actions: dict[str, QAction] = {}
        self._cursor_busy = False
        self._wire()

    # -- building ---------------------------------------------------------------------
    def _dock(self, key: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title)
        dock.setObjectName(f"dock_{key}")
        if key in SCROLLED:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            dock.setWidget(scroll)
        else:
            dock.setWidget(widget)
        dock.visibilityChanged.connect(lambda visible, w=widget: visible and self._refresh_one(w))
        if key == "patches":
            dock.visibilityChanged.connect(lambda visible: visible and self._patch_nodes_stale
                                           and self._update_patch_nodes())
        return dock

    def build_menu(self, menu: QMenu) -> None:
        """Fill the Training menu: run control, earlier runs, the canvas overlay, the docks."""
        self._actions["start"] = self._add_action(menu, "&Start", self.start, "Ctrl+T")
        self._actions["pause"] = self._add_action(menu, "&Pause / resume", self.toggle_pause, "Ctrl+Shift+P")
        self._actions["stop"] = self._add_action(menu, "S&top", self.controller.stop, "Ctrl+.")
        menu.addSeparator()
        self._add_action(menu, "&Open run…", self.open_run_dialog)
        self._actions["branch"] = self._add_action(menu, "&Branch from this run", self.branch_from_shown)
        overlay_menu = menu.addMenu("Canvas &overlay")
        group = QActionGroup(menu)
        for key, text in OVERLAYS:
            action = QAction(text, menu)
            action.setCheckable(True)
            action.setChecked(key == self.overlay)
            action.triggered.connect(lambda _checked=False, k=key: self.set_overlay(k))
            group.addAction(action)
            overlay_menu.addAction(action)
        self._overlay_group = group
        menu.addSeparator()
        for dock in self.docks.values():
            menu.addAction(dock.toggleViewAction())
        self._update_actions(None)

    @staticmethod
    def _add_action(menu: QMenu, text: str, slot: Callable[[], Any], shortcut: str | None = None) -> QAction:
        action = QAction(text, menu)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _wire(self) -> None:
        controller, panel, views = self.controller, self.panel, self.views
        panel.settings_edited.connect(self._settings_edited)
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(controller.pause)
        panel.resume_requested.connect(controller.resume)
        panel.stop_requested.connect(controller.stop)
        controller.run_shown.connect(self._run_shown)
        controller.run_changed.connect(self._run_changed)
        controller.run_ended.connect(self._run_ended)
        controller.refresh_hooks.append(self._update_overlays)
        views["activations"].sample_requested.connect(lambda index: self._show_feature_maps(index, None))
        views["activations"].node_requested.connect(lambda node_id: self._show_feature_maps(None, node_id))
        views["health"].node_activated.connect(self.canvas.focus_node)
        views["patches"].patches_requested.connect(self.request_patches)
        views["patches"].patch_clicked.connect(self._patch_clicked)
        views["text"].generate_requested.connect(self._generate_requested)
        views["text"].decode_requested.connect(self._decode_requested)
        views["text"].cancel_requested.connect(controller.inspector.cancel_generation)
        controller.inspector.generation_progress.connect(views["text"].show_progress)
        views["curves"].branch_requested.connect(self.branch_requested)
        self.document.graph_replaced.connect(self._graph_replaced)
        self.document.changed.connect(self._document_changed)
        self.document.node_renamed.connect(self._node_renamed)
        panel.show_settings(self.document.graph.training)
        self._compare_runs()

    # -- intents ----------------------------------------------------------------------
    def start(self) -> bool:
        started = self.controller.start()
        if started:
            self.docks["curves"].raise_()
            self._compare_runs()
        return started

    def toggle_pause(self) -> None:
        history = self.controller.history
        if history is not None and history.status == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def _settings_edited(self, changes: dict, continuing: bool) -> None:
        if not self._edit_training(changes, continuing):
            self.panel.show_settings(self.document.graph.training)

    def set_overlay(self, key: str) -> None:
        self.overlay = key
        self._update_overlays()

    def branch_from_shown(self) -> None:
        """Training → Branch from this run: the run shown, once it has finished."""
        history = self.controller.history
        if history is not None and history.status == "finished" and history.run_dir is not None:
            self.branch_requested.emit(history.run_dir)

    def open_run_dialog(self) -> None:
        if self.controller.running:
            QMessageBox.information(self._dialog_parent, "Training in progress", "Stop the current run first.")
            return
        folder = QFileDialog.getExistingDirectory(self._dialog_parent, "Open a run folder",
                                                  str(runs_root(self.document.path)))
        if folder:
            self.open_run(folder)

    def open_run(self, folder: str) -> None:
        if not (Path(folder) / "metrics.jsonl").is_file():
            QMessageBox.warning(self._dialog_parent, "Not a run folder", f"{folder}: no metrics.jsonl in it")
            return
        self.controller.open_run(Path(folder))
        self._compare_runs()
        self._update_patch_nodes()

    def node_selected(self, node_id: str) -> None:
        """A node clicked on the canvas: the Activations view shows it (asking for its maps)."""
        view = self.views["activations"]
        if view.current_node != node_id:
            view.select_node(node_id)
            if view.current_node == node_id:
                self._show_feature_maps(None, node_id)

    def _show_feature_maps(self, index: int | None, node_id: str | None) -> None:
        """Another validation sample or node in the Activations view: during a run the trainer
        probes it; afterwards the maps come from the run's checkpoint."""
        view = self.views["activations"]
        if self.controller.running:
            self.controller.request_probe(**({"sample": index} if node_id is None else {"watch_node": node_id}))
            return
        index = view.sample_spin.value() if index is None else index
        node_id = node_id or view.current_node
        if node_id:
            to_document = self.controller.names.to_document
            self.controller.inspect(self.controller.inspector.feature_maps, index, [self.controller.run_node(node_id)],
                                    on_result=lambda r: view.show_feature_maps(
                                        r[0], {to_document(n): maps for n, maps in r[1].items()}, r[2]),
                                    on_error=self._status)

    def request_patches(self, node_id: str) -> None:
        """Top-9 patches of every channel of ``node_id`` from the run's newest checkpoint."""
        view = self.views["patches"]
        if self.controller.inspect(self.controller.inspector.top_patches, self.controller.run_node(node_id),
                                   on_result=lambda top: view.show_patches(top, self._dataset_size()),
                                   on_error=view.show_error):
            view.show_busy(f"Finding the top patches of {node_id} over the whole dataset…")

    def _dataset_size(self) -> int | None:
        run_dir = self.controller.run_dir_with_checkpoint()
        try:
            described = read_json(run_dir / "dataset.json")
            return int(described["train"]) + int(described["validation"])
        except (TypeError, OSError, ValueError, KeyError):
            return None

    def _patch_clicked(self, node_id: str, channel: int, rank: int) -> None:
        view = self.views["patches"]
        top = view.top
        if top is None or top.node_id != node_id:
            return
        self.controller.inspect(self.controller.inspector.patch_detail, node_id, channel,
                                int(top.sample_indices[channel, rank]), tuple(top.boxes[channel, rank]),
                                float(top.values[channel, rank]),
                                on_result=view.show_detail, on_error=view.show_error)

    def _generate_requested(self, prompt: str, length: int, temperature: float, beam: int) -> None:
        view = self.views["text"]

        def done(show: Callable[..., None]) -> Callable[..., None]:
            def finish(*args: Any) -> None:
                self._busy_cursor(False)
                self._status("Text generation failed" if show is view.show_error else "Text generated")
                show(*args)
            return finish
        self._busy_cursor(True)  # the panel's bar counts the characters; the cursor says so too
        self._status(f"Generating {length} characters from the newest checkpoint…")
        self.controller.inspect(self.controller.inspector.generate, prompt, length, temperature, beam,
                                on_result=lambda r: done(view.show_generated)(*r), on_error=done(view.show_error))

    def _busy_cursor(self, busy: bool) -> None:
        """One busy cursor while a generation runs (a newer request replaces the older one's)."""
        if busy and not self._cursor_busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        elif not busy and self._cursor_busy:
            QApplication.restoreOverrideCursor()
        self._cursor_busy = busy

    def _decode_requested(self, source: str, validation_index: int, beam: int) -> None:
        view = self.views["text"]
        self.controller.inspect(self.controller.inspector.decode, source, validation_index, beam,
                                on_result=view.show_decoded, on_error=view.show_decode_error)

    # -- reacting ---------------------------------------------------------------------
    def _document_changed(self, changes: frozenset) -> None:
        """After a command: the settings fields, and whether the run's snapshot is stale."""
        if TRAINING in changes:
            self.panel.show_settings(self.document.graph.training)
        if NETWORK in changes:
            self.panel.set_graph_changed(self.controller.graph_changed_since_start())
            if self.controller.run_graph is None:
                self._update_patch_nodes()

    def _node_renamed(self, _old: str, _new: str) -> None:
        """A rename (or its undo) changes no network: the banner is decided again once the
        controller knows the new name (the edit's own change came before it)."""
        self.panel.set_graph_changed(self.controller.graph_changed_since_start())
        self._update_patch_nodes()

    def _graph_replaced(self, _graph: Graph) -> None:
        self.panel.show_settings(self.document.graph.training)
        self._compare_runs()

    def _run_shown(self, _history: RunHistory) -> None:
        """Another run is shown: what was asked of the last one goes."""
        self.controller.inspector.cancel_generation()  # its text would be dropped anyway
        self._busy_cursor(False)
        self.views["patches"].clear()
        self.canvas.clear_highlight()
        self._update_patch_nodes()

    def _run_changed(self, history: RunHistory) -> None:
        self.panel.set_process_running(self.controller.running)
        self.panel.show_run(history)
        self.panel.set_graph_changed(self.controller.graph_changed_since_start())
        self._update_actions(history)
        if history.status == "failed" and history.failed_node:
            self.canvas.highlight_nodes([history.failed_node])
            self.canvas.focus_node(history.failed_node)
        activations = self.views["activations"]
        if history.status == "running":
            activations.set_sample_count(history.validation_samples)
            # the new run probes sample 0 and its default nodes: tell it what is being looked at
            wishes: dict[str, object] = {"sample": activations.sample_spin.value()}
            if activations.current_node:
                wishes["watch_node"] = activations.current_node
            self.controller.request_probe(**wishes)

    def _run_ended(self, history: RunHistory) -> None:
        self.panel.set_process_running(False)
        self._update_actions(history)
        self._update_overlays()
        self._update_patch_nodes()
        self._compare_runs()

    def _update_actions(self, history: RunHistory | None) -> None:
        if not self._actions:
            return
        active = (history is not None and history.active) or self.controller.running
        self._actions["start"].setEnabled(not active)
        self._actions["pause"].setEnabled(active)
        self._actions["stop"].setEnabled(active)
        self._actions["branch"].setEnabled(history is not None and history.status == "finished"
                                           and history.run_dir is not None)

    def _compare_runs(self) -> None:
        self.controller.load_earlier_runs(self.views["curves"].set_earlier_runs)

    def _refresh_one(self, widget: QWidget) -> None:
        refresh = getattr(widget, "refresh", None)
        if refresh is not None and self.controller.history is not None:
            refresh()

    def _update_patch_nodes(self) -> None:
        """The nodes of the graph the shown run trained (its checkpoint has only those)."""
        graph = self.controller.run_graph
        if graph is None:  # no run yet (or an unreadable one): what the document would offer
            view = self.views["patches"]
            # while the view is hidden an edit only marks the list stale: after an edit that
            # changes 5,000 shapes, listing the layers again was a tenth of the edit's time
            self._patch_nodes_stale = not on_screen(view)
            if not self._patch_nodes_stale:
                view.set_nodes(self._document_patch_nodes.update(self.document.analysis))
            return
        self._patch_nodes_stale = False
        if self._run_analysis is None or self._run_analysis[0] is not graph:
            self._run_analysis = (graph, analyze(graph))
        to_document = self.controller.names.to_document  # the run's ids, as the document names them now
        self.views["patches"].set_nodes([(to_document(n), to_document(n) + label[len(n):]) for n, label in
                                         patch_candidates(graph, self._run_analysis[1])])

    def _update_overlays(self) -> None:
        history = self.controller.history
        if history is None or self.overlay == "none":
            self.canvas.clear_overlays()
            return
        graph = self.document.graph
        flags = node_health(history)
        self.canvas.set_node_badges({n: (f.kind, f.message) for n, f in flags.items() if n in graph})
        bars = overlay_values(history, self.overlay)
        self.canvas.set_node_bars({n: v for n, v in bars.items() if n in graph})
