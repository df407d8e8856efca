"""Sweeps in the window: the document's sweep spec, Run sweep, the runs table and the sweep views.

The spec (values marked to vary, objectives, trials) belongs to the document's window.
Run sweep writes the graph and the spec into a study folder under the runs folder and
starts ``rosenblatt sweep`` in a child process (QProcess), so the window stays
responsive and the sweep is exactly what the CLI would run. The views read the study
folder's records on a timer: the runs table, the Pareto front and parallel coordinates.
Ticking rows overlays their curves in the Curves panel; clicking a trial opens its graph
as a new document with its run in the views.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QProcess, QTimer
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QTabWidget, QWidget

from app.document import Document
from app.sweep_cli import default_study_name
from app.training_controller import runs_root
from graph_engine.experiments.records import RunRow, run_row
from graph_engine.experiments.spec import (
    Objective, SpecError, build_spec, compatible_types, format_number, parse_variation,
)
from graph_engine.serialization import load_graph, save_graph
from graph_engine.training.history import RunHistory, list_runs
from graph_engine.training.settings import OPTIMIZERS, SCHEDULES, settings_from_dict
from widgets.pareto_view import ParetoView
from widgets.parallel_view import ParallelView
from widgets.runs_table import RunsTable
from widgets.sweep_spec_panel import SweepSpecPanel

REFRESH_MS = 1500
#: the sweep docks, tabbed after the run views
SWEEP_VIEWS = ("runs", "sweep")


def open_run_window(window: QWidget, run_dir: Path) -> Any:
    """A run's graph as a new document in its own window, with the run in its views."""
    from app.main_window import MainWindow
    from graph_engine import GraphFileError

    try:
        graph = load_graph(run_dir / "graph.json")
    except GraphFileError as error:
        window.show_status(f"{run_dir}: {error}")
        return None
    other = MainWindow(graph, autosave=getattr(window, "persistent", False))
    if not hasattr(window, "run_windows"):
        window.run_windows = []
    window.run_windows.append(other)  # the window lives as long as its opener
    other.show()
    other.workspace.open_run(str(run_dir))
    return other


class RowCache:
    """Run rows read once per change of their files (metrics.jsonl, trial.json)."""

    def __init__(self) -> None:
        self._rows: dict[Path, tuple[tuple[float, ...], RunRow]] = {}

    def row(self, run_dir: Path) -> RunRow:
        stamp = tuple((run_dir / name).stat().st_mtime if (run_dir / name).exists() else 0.0
                      for name in ("metrics.jsonl", "trial.json"))
        cached = self._rows.get(run_dir)
        if cached is None or cached[0] != stamp:
            cached = (stamp, run_row(run_dir))
            self._rows[run_dir] = cached
        return cached[1]


class SweepWorkspace(QObject):
    """See the module docstring."""

    def __init__(self, document: Document, curves: Any, present: Callable[[str], None],
                 open_run_window: Callable[[Path], None], status: Callable[[str], None], dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.document = document
        self._curves = curves
        self._present = present
        self._open_run_window = open_run_window
        self._status = status
        self._dialog_parent = dialog_parent
        #: the document's sweep spec: what is marked to vary, as ``TARGET=VALUES`` texts
        self.vary: list[str] = []
        self.folder: Path | None = None
        self.objectives: list[Objective] = []
        self.process: QProcess | None = None
        self.rows: list[RunRow] = []
        self._cache = RowCache()
        self.table = RunsTable()
        self.pareto = ParetoView()
        self.parallel = ParallelView()
        self.spec_panel = SweepSpecPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.spec_panel, "Spec")
        self.tabs.addTab(self.pareto, "Pareto front")
        self.tabs.addTab(self.parallel, "Parallel coordinates")
        self.docks = {"runs": self._dock("runs", "Runs", self.table), "sweep": self._dock("sweep", "Sweep", self.tabs)}
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.spec_panel.add_requested.connect(self.add_variation)
        self.spec_panel.remove_requested.connect(self._remove_variation)
        self.spec_panel.run_requested.connect(self.run_sweep)
        self.table.ticked_changed.connect(self._overlay)
        self.table.run_activated.connect(self._open_run_window)
        self.pareto.run_activated.connect(self._open_run_window)
        self.spec_panel.set_variations([])
        self.docks["runs"].visibilityChanged.connect(lambda visible: visible and self.refresh())

    @staticmethod
    def _dock(key: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        return dock

    def build_menu(self, menu: Any) -> None:
        menu.addSeparator()
        for text, slot in (("Run s&weep", self.run_sweep), ("Open sw&eep…", self.open_sweep_dialog)):
            action = menu.addAction(text)
            action.triggered.connect(lambda _checked=False, s=slot: s())

    # -- the spec ---------------------------------------------------------------------
    def suggestion(self, node_id: str, key: str) -> str:
        """A starting point for "Vary this…": the compatible types, or a range around the value."""
        graph = self.document.graph
        if node_id == "training":
            return self._setting_suggestion(key)
        node = graph.node(node_id)
        if key == "type":
            same = compatible_types(node)
            preferred = [t for t in ("ReLU", "Tanh", "Sigmoid", "GELU") if t in same]
            return f"{node_id}.type={','.join(preferred if len(preferred) > 1 else same[:4])}"
        value = node.params.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 1:
            return f"{node_id}.{key}={max(1, value // 2)},{value},{value * 2}"
        if isinstance(value, float):
            return f"{node_id}.{key}=lin:{format_number(value / 2)}:{format_number(min(1.0, value * 2) if value < 1 else value * 2)}:3"
        return f"{node_id}.{key}={json.dumps(value)}"

    def _setting_suggestion(self, key: str) -> str:
        choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES,
                   "init": ("torch", "kaiming_normal", "xavier_normal", "orthogonal")}
        if key in choices:
            return f"training.{key}={','.join(choices[key])}"
        value = settings_from_dict(self.document.graph.training, strict=False).to_dict()[key]
        if key == "learning_rate":
            return "training.learning_rate=log:1e-4:1e-1:4"
        if isinstance(value, int) and value > 1:
            return f"training.{key}={max(1, value // 2)},{value},{value * 2}"
        if key in ("weight_decay", "grad_clip") and not value:
            return f"training.{key}=0,1e-4,1e-3" if key == "weight_decay" else f"training.{key}=0,1,5"
        return f"training.{key}={json.dumps(value)}"

    def vary_dialog(self, node_id: str, key: str) -> None:
        """The Inspector's "Vary this…": edit a suggested variation, then add it."""
        text, accepted = QInputDialog.getText(
            self._dialog_parent, "Vary this", "Values: a list (a,b,c), a range (log:LO:HI:N, lin:LO:HI:N) "
            "or a distribution (uniform:LO:HI, int:LO:HI)", text=self.suggestion(node_id, key))
        if accepted and text.strip():
            self.add_variation(text.strip())

    def add_variation(self, text: str) -> bool:
        """Mark a value to vary (replacing the same target's); False with a one-line message if refused."""
        try:
            variation = parse_variation(self.document.graph, text)
        except SpecError as error:
            self.spec_panel.set_message(str(error))
            self._status(str(error))
            return False
        self.vary = [v for v in self.vary if v.split("=", 1)[0] != variation.target] + [variation.to_text()]
        self.spec_panel.set_variations(self.vary)
        self.spec_panel.set_message(f"Varying {len(self.vary)} value{'s' if len(self.vary) > 1 else ''}: "
                                    "Run sweep trains every variant (or a search) in parallel.")
        self.docks["sweep"].raise_()
        return True

    def _remove_variation(self, index: int) -> None:
        del self.vary[index]
        self.spec_panel.set_variations(self.vary)

    # -- running ----------------------------------------------------------------------
    def run_sweep(self) -> bool:
        """Start ``rosenblatt sweep`` on the document's graph and spec; False (and why) if refused."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.spec_panel.set_message("A sweep is running: wait for it to finish.")
            return False
        panel = self.spec_panel
        graph = self.document.graph
        settings = {"epochs": panel.epochs.value()} if panel.epochs.value() else {}
        try:
            spec = build_spec(graph, self.vary, panel.objective_texts(), None, panel.trials.value() or None, settings)
        except SpecError as error:
            panel.set_message(str(error))
            return False
        name = default_study_name(graph.name)
        folder = runs_root(self.document.path) / "sweeps" / name
        folder.mkdir(parents=True, exist_ok=True)
        save_graph(graph, folder / "graph.json")
        (folder / "spec.json").write_text(json.dumps(spec.to_dict(), indent=2) + "\n", encoding="utf-8")
        arguments = ["-m", "app.cli", "sweep", str(folder / "graph.json"), "--spec", str(folder / "spec.json"),
                     "--out", str(folder), "--study", name]
        if panel.jobs.value():
            arguments += ["--jobs", str(panel.jobs.value())]
        self.process = QProcess(self)
        self.process.setProgram(sys.executable)
        self.process.setArguments(arguments)
        self.process.setWorkingDirectory(str(Path.cwd()))
        self.process.finished.connect(self._finished)
        self.process.start()
        self.show_sweep(folder, spec.objectives)
        panel.set_message(f"Running {spec.trial_count} trials ({spec.method}) in {folder}")
        self._status(f"sweep started: {spec.trial_count} trials -> {folder}")
        self.timer.start()
        return True

    def _finished(self, code: int, _status: Any) -> None:
        self.timer.stop()
        self.refresh()
        error = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip().splitlines()
        last = error[-1] if error else ""
        text = "Sweep finished." if code == 0 else f"Sweep ended with status {code}: {last}"
        self.spec_panel.set_message(text)
        self._status(text)

    def wait(self, timeout_ms: int) -> bool:
        """Block until the sweep's process ends (scripts and tests); True when it did."""
        return self.process is None or self.process.waitForFinished(timeout_ms)

    # -- showing ----------------------------------------------------------------------
    def open_sweep_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._dialog_parent, "Open a sweep folder",
                                                  str(runs_root(self.document.path) / "sweeps"))
        if folder:
            self.open_sweep(Path(folder))

    def open_sweep(self, folder: Path) -> None:
        """Show a study folder (made by Run sweep or ``rosenblatt sweep``)."""
        try:
            data = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
            objectives = [Objective.parse(o) for o in data.get("objectives", [])]
        except (OSError, ValueError) as error:
            self._status(f"{folder}: not a sweep folder ({error})")
            return
        self.show_sweep(folder, objectives)

    def show_sweep(self, folder: Path, objectives: list[Objective]) -> None:
        self.folder, self.objectives = folder, list(objectives)
        self.refresh()
        self._present("runs")

    def refresh(self) -> None:
        """Read the records again: the sweep's trials, else this graph's runs."""
        if self.folder is not None:
            root = self.folder / "runs"
            dirs = sorted(p for p in root.iterdir() if (p / "metrics.jsonl").is_file()) if root.is_dir() else []
            caption = f"Sweep {self.folder.name}: {len(dirs)} trial runs. Tick rows to overlay their curves."
        else:
            dirs = list_runs(runs_root(self.document.path), self.document.graph.name)
            caption = ""
        self.rows = [self._cache.row(d) for d in dirs]
        self.table.set_rows(self.rows, caption)
        if self.folder is not None and self.objectives:
            varied = []
            for row in self.rows:
                varied += [k for k in row.varied if k not in varied]
            self.pareto.set_trials(self.rows, self.objectives)
            self.parallel.set_trials(self.rows, varied, self.objectives)

    def _overlay(self, paths: list[Path]) -> None:
        """Ticked rows: their curves overlaid in the Curves panel, named by what differs."""
        self._curves.pin_runs([RunHistory.from_run_dir(p) for p in paths])
        if paths:
            self._present("curves")

