"""The training docks of the main window and how their intents reach the training controller.

One place builds the Training panel and the views of a run (curves, activations,
filters, patches, health, evaluation, text), puts each in a dock a person can move
(the window remembers the arrangement), wires each view's intents to the
:class:`TrainingController`, and keeps the canvas's live overlays in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QFrame, QMenu, QMessageBox, QScrollArea, QWidget

from app.training_controller import TrainingController, runs_root
from graph_engine import Analysis, Graph, analyze
from graph_engine.probes.patches import patch_candidates
from graph_engine.training.health import node_health, overlay_values
from graph_engine.training.history import RunHistory
from graph_engine.training.runs import read_json
from widgets.training_panel import TrainingPanel

if TYPE_CHECKING:
    from app.main_window import MainWindow

#: panels whose controls scroll in a narrow dock rather than widening the window
SCROLLED = ("training", "text")
#: canvas overlay choices: (key, menu text)
OVERLAYS = (("none", "&None"), ("dead", "&Dead units"), ("gradient", "&Gradient norm"))


def _cuda_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 (a broken driver must not stop the editor)
        return None


class TrainingDocks:
    """See the module docstring."""

    def __init__(self, window: "MainWindow", controller: TrainingController):
        self.window = window
        self.controller = controller
        self.overlay = "dead"
        self.panel = TrainingPanel(cuda_name=_cuda_name())
        self.docks: dict[str, QDockWidget] = {}
        self.views: dict[str, QWidget] = {"training": self.panel}
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self._add("training", "Training", self.panel, right)
        for key, title, factory in self._view_factories():
            self._add(key, title, factory(), bottom)
        controller.add_view(self.panel)
        for key, view in self.views.items():
            if key not in ("training", "patches"):  # patches are computed on request, not streamed
                controller.add_view(view)
        self._shown_history: RunHistory | None = None
        #: (graph, its analysis) of the run shown, for the patch node list
        self._run_analysis: tuple[Graph, Analysis] | None = None
        self._wire()

    # -- building ---------------------------------------------------------------------
    def _view_factories(self) -> list[tuple[str, str, Any]]:
        from widgets.activations_panel import ActivationsPanel
        from widgets.curves_panel import CurvesPanel
        from widgets.evaluation_panel import EvaluationPanel
        from widgets.filters_panel import FiltersPanel
        from widgets.health_panel import HealthPanel
        from widgets.patches_panel import PatchesPanel
        from widgets.text_panel import TextPanel

        return [("curves", "Curves", CurvesPanel), ("activations", "Activations", ActivationsPanel),
                ("filters", "Filters", FiltersPanel), ("patches", "Patches", PatchesPanel),
                ("health", "Health", HealthPanel), ("evaluation", "Evaluation", EvaluationPanel),
                ("text", "Text", TextPanel)]

    def _add(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"dock_{key}")
        if key in SCROLLED:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            dock.setWidget(scroll)
        else:
            dock.setWidget(widget)
        self.window.addDockWidget(area, dock)
        self.docks[key] = dock
        self.views[key] = widget
        dock.visibilityChanged.connect(lambda visible, w=widget: visible and self._refresh_one(w))

    def arrange(self, problems: QDockWidget, inspector: QDockWidget) -> None:
        """First-start arrangement: run views tabbed with Problems, Training with the Inspector."""
        self.window.tabifyDockWidget(inspector, self.docks["training"])
        previous = problems
        for key in ("curves", "activations", "filters", "patches", "health", "evaluation", "text"):
            if key in self.docks:
                self.window.tabifyDockWidget(previous, self.docks[key])
                previous = self.docks[key]
        problems.raise_()
        inspector.raise_()

    def build_menu(self, menu: QMenu) -> None:
        window = self.window
        self.start_action = window._action(menu, "&Start", self.start, "Ctrl+T")
        self.pause_action = window._action(menu, "&Pause / resume", self.toggle_pause, "Ctrl+Shift+P")
        self.stop_action = window._action(menu, "S&top", self.controller.stop, QKeySequence("Ctrl+."))
        menu.addSeparator()
        window._action(menu, "&Open run…", self.open_run_dialog)
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

    def _wire(self) -> None:
        controller, panel = self.controller, self.panel
        panel.settings_edited.connect(self._settings_edited)
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(controller.pause)
        panel.resume_requested.connect(controller.resume)
        panel.stop_requested.connect(controller.stop)
        controller.run_changed.connect(self._run_changed)
        controller.run_ended.connect(self._run_ended)
        controller.refresh_hooks.append(self._update_overlays)
        views = self.views
        views["activations"].sample_requested.connect(lambda index: self._show_feature_maps(index, None))
        views["activations"].node_requested.connect(lambda node_id: self._show_feature_maps(None, node_id))
        views["health"].node_activated.connect(self.window.focus_node)
        views["patches"].patches_requested.connect(self.request_patches)
        views["patches"].patch_clicked.connect(self._patch_clicked)
        views["text"].generate_requested.connect(self._generate_requested)
        self.window.document.graph_replaced.connect(lambda _graph: self._graph_replaced())
        self.panel.show_settings(self.window.document.graph.training)
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
        if not self.window.controller.edit_training(changes, continuing):
            self.panel.show_settings(self.window.document.graph.training)
        self.window.document.graph_replaced.connect(lambda _graph: self._graph_replaced())
        self._shown_history: RunHistory | None = None
        self._run_graphs: dict[str, object] = {}
        self._compare_runs()

    def set_overlay(self, key: str) -> None:
        self.overlay = key
        self._update_overlays()

    def open_run_dialog(self) -> None:
        if self.controller.running:
            QMessageBox.information(self.window, "Training in progress", "Stop the current run first.")
            return
        folder = QFileDialog.getExistingDirectory(self.window, "Open a run folder",
                                                  str(runs_root(self.window.document.path)))
        if folder:
            self.open_run(folder)

    def open_run(self, folder: str) -> None:
        if not (Path(folder) / "metrics.jsonl").is_file():
            QMessageBox.warning(self.window, "Not a run folder", f"{folder}: no metrics.jsonl in it")
            return
        self.controller.open_run(Path(folder))
        self._compare_runs()
        self._update_patch_nodes()

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
            self.controller.inspect(self.controller.inspector.feature_maps, index, [node_id],
                                    on_result=lambda r: view.show_feature_maps(*r), on_error=self._status)

    def request_patches(self, node_id: str) -> None:
        """Top-9 patches of every channel of ``node_id`` from the run's newest checkpoint."""
        view = self.views["patches"]
        if self.controller.inspect(self.controller.inspector.top_patches, node_id,
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
        self.controller.inspect(self.controller.inspector.generate, prompt, length, temperature, beam,
                                on_result=lambda r: view.show_generated(*r), on_error=view.show_error)

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    # -- reacting ---------------------------------------------------------------------
    def graph_edited(self) -> None:
        """After every command: the settings fields, and whether the run's snapshot is stale."""
        self.panel.show_settings(self.window.document.graph.training)
        self.panel.set_graph_changed(self.controller.graph_changed_since_start())
        if self.controller.run_graph is None:
            self._update_patch_nodes()

    def node_selected(self, node_id: str) -> None:
        """A node clicked on the canvas: the Activations view shows it (asking for its maps)."""
        view = self.views["activations"]
        if view.current_node != node_id:
            view.select_node(node_id)
            if view.current_node == node_id:
                self._show_feature_maps(None, node_id)

    def _run_changed(self, history: RunHistory) -> None:
        scene = self.window.scene
        if history is not self._shown_history:  # another run: what was asked of the last one goes
            self._shown_history = history
            self.views["patches"].clear()
            if scene is not None:
                scene.clear_highlight()
            self._update_patch_nodes()
        self.panel.set_process_running(self.controller.running)
        self.panel.show_run(history)
        self.panel.set_graph_changed(self.controller.graph_changed_since_start())
        self._update_actions(history)
        if scene is not None and history.status == "failed" and history.failed_node:
            scene.highlight_nodes([history.failed_node])
            self.window.focus_node(history.failed_node)
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

    def _graph_replaced(self) -> None:
        self.panel.show_settings(self.window.document.graph.training)
        self._compare_runs()

    def _update_actions(self, history: RunHistory | None) -> None:
        if not hasattr(self, "start_action"):
            return
        active = (history is not None and history.active) or self.controller.running
        self.start_action.setEnabled(not active)
        self.pause_action.setEnabled(active)
        self.stop_action.setEnabled(active)

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
            graph, analysis = self.window.document.graph, self.window.document.analysis
        else:
            if self._run_analysis is None or self._run_analysis[0] is not graph:
                self._run_analysis = (graph, analyze(graph))
            analysis = self._run_analysis[1]
        self.views["patches"].set_nodes(patch_candidates(graph, analysis))

    def _update_overlays(self) -> None:
        scene = self.window.scene
        history = self.controller.history
        if scene is None:
            return
        if history is None or self.overlay == "none":
            scene.clear_overlays()
            return
        graph = self.window.document.graph
        flags = node_health(history)
        scene.set_node_badges({n: (f.kind, f.message) for n, f in flags.items() if n in graph})
        bars = overlay_values(history, self.overlay)
        scene.set_node_bars({n: v for n, v in bars.items() if n in graph})
