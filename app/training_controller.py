"""Training inside the app: checks before a start, the child process, and every view of the run.

The controller owns the current run's :class:`RunHistory`, feeds it the events the
:class:`TrainingSession` drains from the child, and redraws the training panels on
a timer (never per event). Views that need the trained model (patches, feature maps
of another sample after the run, text generation) go through the
:class:`RunInspector`, which works off the GUI thread. A crashed child leaves the
history, and so the curves, as they were; a new run can start at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QRegion

from app.background import BackgroundWorker
from app.bridge import NETWORK, TRAINING
from app.document import Document
from app.run_inspector import JobError, RunInspector
from app.training_session import TrainingSession
from graph_engine import Graph, GraphFileError, load_graph
from graph_engine.training.failures import one_line
from graph_engine.training.history import RunHistory, list_runs
from graph_engine.training.run_names import RunNames, rename_in_event, rename_in_history
from graph_engine.training.runs import default_run_dir
from graph_engine.training.settings import TrainingSettings, settings_from_dict
from graph_engine.training.snapshot import RunSnapshot, network_signature
from graph_engine.validation import Diagnostic
from widgets.visibility import on_screen

__all__ = ["RunView", "TrainingController", "network_signature", "runs_root"]

#: how often the panels redraw while a run streams events
REFRESH_MS = 500
#: the changes of a run that the refresh hooks (the canvas overlays) follow
HOOK_CHANGES = frozenset({"activations", "gradients", "status"})
#: the environment variable that overrides where unsaved documents' runs go
RUNS_DIR_ENV = "ROSENBLATT_RUNS_DIR"
#: earlier runs offered for comparison
MAX_COMPARED_RUNS = 12


class RunView(Protocol):
    def set_history(self, history: RunHistory | None) -> None: ...
    def refresh(self) -> None: ...
    def isVisible(self) -> bool: ...  # noqa: N802 (QWidget's)
    def visibleRegion(self) -> QRegion: ...  # noqa: N802 (QWidget's)


def runs_root(document_path: Path | None) -> Path:
    """Where a document's runs go: ``runs/`` beside its file, else the app's data folder."""
    override = os.environ.get(RUNS_DIR_ENV)
    if override:
        return Path(override)
    if document_path is not None:
        return document_path.resolve().parent / "runs"
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".rosenblatt") / "runs"


class TrainingController(QObject):
    """See the module docstring."""

    #: a one-line message for the status bar
    message = Signal(str)
    #: another run is shown (a new start, or a run folder opened): what was asked of the last goes
    run_shown = Signal(object)
    #: the run's status changed (the window updates actions and the canvas)
    run_changed = Signal(object)
    #: diagnostics that block or stopped a start (shown in the Problems panel beside the graph's)
    problems_changed = Signal(list)
    #: the run has ended (finished, failed, crashed or rejected) and its process is gone
    run_ended = Signal(object)
    #: earlier runs read in the worker thread: (ticket, runs, callback)
    _runs_loaded = Signal(int, list, object)

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.session = TrainingSession(self)
        self.inspector = RunInspector(self)
        self.history: RunHistory | None = None
        #: the graph the shown run trains or trained (its checkpoints hold only its nodes)
        self.run_graph: Graph | None = None
        self.views: list[RunView] = []
        #: called after the views when probes or the status changed (e.g. the canvas overlays)
        self.refresh_hooks: list[Callable[[], None]] = []
        self.problems: list[Diagnostic] = []
        #: the network the shown run trains, made once at its start (None for an opened run)
        self._snapshot: RunSnapshot | None = None
        self._shown_status: str | None = None
        self._made_root: Path | None = None
        self.session.events_arrived.connect(self._events)
        self.session.ended.connect(self._ended)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh_in_turns)
        # the timer's refresh redraws one view per turn of the event loop (see _refresh_in_turns)
        self._turns = QTimer(self)
        self._turns.setSingleShot(True)
        self._turns.setInterval(0)
        self._turns.timeout.connect(self._next_turn)
        self._queued_views: list[RunView] = []
        self._hooks_due = False
        document.graph_replaced.connect(lambda _graph: self.forget_run())
        # a training refusal describes the graph and settings as they were: the next edit of
        # either may have fixed it
        document.changed.connect(lambda changes: changes & {NETWORK, TRAINING} and self._refusal_outdated())
        self._runs_loader = BackgroundWorker("rosenblatt-runs")
        self._runs_ticket = 0
        self._replay_cache: dict[str, tuple[tuple, RunHistory]] = {}
        self._runs_loaded.connect(self._deliver_runs)
        #: nodes renamed since the shown run started: its views show the new ids
        self.names = RunNames()
        document.node_renamed.connect(self._node_renamed)

    # -- views ------------------------------------------------------------------------
    def add_view(self, view: RunView) -> None:
        self.views.append(view)
        view.set_history(self.history)

    def refresh_views(self) -> None:
        """Redraw every view from the history (cheap when nothing changed)."""
        if self.history is None:
            return
        changes = self.history.take_changes()
        for view in self.views:
            if view.isVisible():  # a hidden dock catches up when it is shown (RunWorkspace)
                view.refresh()
        if changes & HOOK_CHANGES:
            for hook in self.refresh_hooks:
                hook()

    def _refresh_in_turns(self) -> None:
        """The periodic refresh while a run goes on: like :meth:`refresh_views`, but one view
        per turn of the event loop. Each view's redraw costs 5-15 ms; all of them in one go
        (curves, health, filters side by side) held the window for up to 40 ms at a time."""
        if self.history is None:
            return
        changes = self.history.take_changes()
        self._hooks_due = self._hooks_due or bool(changes & HOOK_CHANGES)
        self._queued_views = [view for view in self.views if on_screen(view)]
        self._next_turn()

    def _next_turn(self) -> None:
        """Redraw the next queued view (then, once all are done, the hooks)."""
        if self.history is None:
            self._queued_views, self._hooks_due = [], False
            return
        if self._queued_views:
            view = self._queued_views.pop(0)
            if on_screen(view):
                view.refresh()
            self._turns.start()
            return
        if self._hooks_due:
            self._hooks_due = False
            for hook in self.refresh_hooks:
                hook()

    # -- starting and steering ------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.session.running

    def start(self, overrides: dict[str, Any] | None = None) -> bool:
        """Start training a snapshot of the document's graph, if it can be trained.

        A graph with errors, or settings that are refused, start nothing: the reasons
        go to the Problems panel. The dataset fit check runs in the child before any
        step (loading data can take a while) and comes back as a ``rejected`` event."""
        if self.running:
            self.message.emit("A run is already in progress: stop it first")
            return False
        settings = self._startable_settings(overrides)
        if settings is None:
            return False
        self._clear_problems()
        graph = self.document.graph
        root = runs_root(self.document.path)
        run_dir = default_run_dir(graph.name or "graph", root)
        history = RunHistory(run_dir=run_dir, status="starting", settings=settings.to_dict(),
                             dataset=settings.dataset)
        history.changed.add("status")
        self._snapshot = RunSnapshot.of(graph)  # the one analysis the run makes before step 1
        self.names.reset()  # the run knows the nodes by the ids they have now
        self._show(history, self._snapshot.graph)
        self._made_root = None if root.exists() else root  # removed again if nothing is ever put in it
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.session.start(self._snapshot, settings.to_dict(), run_dir)
        except Exception as error:  # noqa: BLE001 (no folder, no process: say so, start nothing)
            self._not_started(root, error)
            return False
        self._timer.start()
        self._shown_status = self.history.status
        self.run_changed.emit(self.history)
        self.refresh_views()
        self.message.emit(f"Training {graph.name} on {settings.dataset}…")
        return True

    def _startable_settings(self, overrides: dict[str, Any] | None) -> TrainingSettings | None:
        """The run's settings; None (the reasons in the Problems panel) when it cannot start."""
        errors = [d for d in self.document.analysis.diagnostics if d.severity == "error"]
        if errors:
            self._set_problems([Diagnostic("error", (), f"Training needs a valid graph: fix the "
                                           f"{len(errors)} error{'s' if len(errors) != 1 else ''} "
                                           "below first", "training_blocked")])
            self.message.emit("Not started: the graph has errors (see Problems)")
            return None
        try:
            return settings_from_dict({**self.document.graph.training, **(overrides or {})})
        except ValueError as error:
            self._set_problems([Diagnostic("error", (), str(error), "training_settings")])
            self.message.emit(f"Not started: {error}")
            return None

    def _not_started(self, root: Path, error: Exception) -> None:
        """The run folder or the process could not be made: the run is rejected, said once."""
        text = f"{root}: {error.strerror or error}" if isinstance(error, OSError) else (
            f"the training process could not start: {type(error).__name__}: {error}")
        self.history.apply({"type": "rejected", "message": text})
        self._set_problems([Diagnostic("error", (), f"Training not started: {text}", "training_rejected")])
        self.run_changed.emit(self.history)
        self.refresh_views()
        self.run_ended.emit(self.history)

    def pause(self) -> None:
        if self.running:
            self.session.pause()

    def resume(self) -> None:
        if self.running:
            self.session.resume()

    def stop(self) -> None:
        if self.running:
            self.session.stop()
            self.message.emit("Stopping after the current step…")

    def shutdown(self, wait_s: float = 3.0) -> None:
        """Closing the window: ask the run to stop, then end the process if it lingers."""
        if self.running:
            self.session.stop()
            process = self.session.process
            if process is not None:
                process.join(wait_s)
            self.session.kill()  # takes what the child sent, cleans up, emits ended
        self._timer.stop()
        self._runs_loader.close()
        self.inspector.shutdown()

    def request_probe(self, **changes: Any) -> None:
        """Ask the running trainer to probe something else (another sample or node)."""
        if isinstance(changes.get("watch_node"), str):
            changes["watch_node"] = self.run_node(changes["watch_node"])
        self.session.request(**changes)

    # -- renamed nodes ----------------------------------------------------------------
    def run_node(self, document_id: str) -> str:
        """The id the shown run knows a document node by (they differ after a rename)."""
        if not self.names or self.run_graph is None:
            return document_id
        return self.names.run_id(document_id, self.run_graph.nodes)

    def _node_renamed(self, old: str, new: str) -> None:
        """A node was renamed (or the rename undone): the run's views follow it."""
        self.names.rename(old, new)
        if self.history is not None:
            rename_in_history(self.history, lambda node_id: new if node_id == old else node_id)
            for view in self.views:
                renamed = getattr(view, "rename_node", None)
                if renamed is not None:
                    renamed(old, new)
            self.refresh_views()

    # -- the graph versus the run's snapshot ---------------------------------------------
    def graph_changed_since_start(self) -> bool:
        """Whether the network differs from the run's snapshot (moving a node or changing the
        settings for the next run does not count)."""
        snapshot = self._snapshot
        if snapshot is None:
            return False
        # a node renamed since the start is the same node (the run's views follow it too)
        started = network_signature(snapshot.graph, self.names.to_document) if self.names else snapshot.signature
        return network_signature(self.document.graph) != started

    # -- jobs on the run's checkpoint -------------------------------------------------
    def run_dir_with_checkpoint(self) -> Path | None:
        history = self.history
        if history is None or history.run_dir is None:
            return None
        folder = history.run_dir / "checkpoints"
        if any((folder / f"{name}.safetensors").exists() for name in ("best", "last")):
            return history.run_dir
        return None

    def inspect(self, job: Callable[..., None], *args: Any, on_result: Callable[[Any], None],
                on_error: Callable[[str], None]) -> bool:
        """Run an inspector job on the current run's checkpoint; False if there is none yet."""
        run_dir = self.run_dir_with_checkpoint()
        if run_dir is None:
            on_error("No checkpoint yet: the first one is written when the first epoch ends"
                     if self.history is not None and self.history.active else
                     "No trained run yet: start a run first")
            return False

        asked_for = self.history

        def deliver(result: Any) -> None:
            if self.history is not asked_for:
                return  # another run is shown now: this answer is about the old one
            if isinstance(result, JobError):
                on_error(str(result))
            else:
                on_result(result)

        job(run_dir, *args, callback=deliver)
        return True

    # -- earlier runs ---------------------------------------------------------------------
    def load_earlier_runs(self, callback: Callable[[list[RunHistory]], None]) -> None:
        """Runs of this graph under the document's runs folder (newest first, but the shown
        one), read in a worker thread (a long metrics file takes a second) and cached until a
        file changes; ``callback`` runs on the GUI thread, unless a newer request came in.
        A damaged folder is listed with its ``damage``; one that fails the whole request is
        said on the status bar, and the next request is answered as usual."""
        self._runs_ticket += 1
        ticket = self._runs_ticket
        # what to look for is read here, on the GUI thread; the worker only reads files
        root, name = runs_root(self.document.path), self.document.graph.name
        shown = self.history.run_dir if self.history is not None else None

        def job() -> None:
            found = self._earlier_runs(root, name, shown)
            try:
                self._runs_loaded.emit(ticket, found, callback)
            except RuntimeError:  # the window closed meanwhile
                pass

        self._runs_loader.submit(job, on_error=self._earlier_runs_failed)

    def _earlier_runs_failed(self, error: BaseException) -> None:
        """Worker thread: the listing itself failed (the signal is queued to the GUI thread)."""
        try:
            self.message.emit(f"Earlier runs could not be listed: {one_line(error)}")
        except RuntimeError:  # the window closed meanwhile
            pass

    def _earlier_runs(self, root: Path, name: str, shown: Path | None) -> list[RunHistory]:
        current = shown.resolve() if shown is not None else None
        found = []
        for folder in list_runs(root, name):
            if folder.resolve() != current:
                found.append(self._replayed(folder))
            if len(found) >= MAX_COMPARED_RUNS:
                break
        return found

    def _deliver_runs(self, ticket: int, found: list, callback: Callable[[list[RunHistory]], None]) -> None:
        if ticket == self._runs_ticket:
            callback(found)

    def _replayed(self, folder: Path) -> RunHistory:
        """The folder's history, from the cache while its metrics file is unchanged; a folder
        that cannot be replayed at all is a damaged history saying why."""
        try:
            stat = (folder / "metrics.jsonl").stat()
            key = (str(folder.resolve()), stat.st_mtime_ns, stat.st_size)
            cached = self._replay_cache.get(key[0])
            if cached is not None and cached[0] == key:
                return cached[1]
            history = RunHistory.from_run_dir(folder)
        except Exception as error:  # noqa: BLE001 (one bad folder must not hide the others)
            return RunHistory.unreadable(folder, f"cannot be read: {one_line(error)}")
        self._replay_cache[key[0]] = (key, history)
        return history

    def _show(self, history: RunHistory, run_graph: Graph | None) -> None:
        """Make ``history`` the shown run: the one place that changes it (``run_shown`` says so)."""
        self.history, self.run_graph = history, run_graph
        for view in self.views:
            view.set_history(history)
        self.run_shown.emit(history)

    def open_run(self, run_dir: Path) -> RunHistory:
        """Show a run folder's curves (a finished run, or one trained elsewhere)."""
        if self.running:
            raise RuntimeError("stop the current run before opening another")
        history = RunHistory.from_run_dir(run_dir)
        if self.names:
            rename_in_history(history, self.names.to_document)
        self._snapshot = None
        try:
            run_graph = load_graph(run_dir / "graph.json")
        except GraphFileError:
            run_graph = None
        self._show(history, run_graph)
        self.refresh_views()
        self.run_changed.emit(history)
        return history

    # -- events from the child ------------------------------------------------------------
    def _events(self, events: list) -> None:
        history = self.history
        if history is None:
            return
        if self.names:  # the child names nodes as they were when it started
            events = [rename_in_event(event, self.names.to_document) for event in events]
        history.apply_all(events)
        for event in events:
            kind = event.get("type")
            if kind == "rejected":
                self._set_problems([Diagnostic("error", (), f"Training not started: {event['message']}",
                                               "training_rejected")])
            elif kind == "failed" and event.get("node"):
                self._set_problems([Diagnostic("error", (event["node"],), event["message"],
                                               "training_failed")])
        if history.status != self._shown_status:
            self._shown_status = history.status
            self.run_changed.emit(history)

    def _ended(self) -> None:
        self._timer.stop()
        if self._made_root is not None:  # a refused start leaves no empty runs/ behind
            try:
                self._made_root.rmdir()
            except OSError:
                pass  # not empty: a run folder is there
            self._made_root = None
        self.refresh_views()
        if self.history is not None:
            self.run_changed.emit(self.history)
            self.message.emit(self.history.message or self.history.status)
            self.run_ended.emit(self.history)

    def forget_run(self) -> None:
        """Another document: its views start empty (a run still training keeps on, shown)."""
        self._clear_problems()
        if not self.running and self.history is not None:
            self._snapshot = None
            self._show(None, None)

    def _refusal_outdated(self) -> None:
        self._clear_problems()
        if self.history is not None and self.history.status == "rejected" and not self.running:
            self._show(None, None)  # its red text goes with the refusal

    def _set_problems(self, problems: list[Diagnostic]) -> None:
        self.problems = problems
        self.problems_changed.emit(problems)

    def _clear_problems(self) -> None:
        if self.problems:
            self._set_problems([])
