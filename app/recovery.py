"""Autosave to a recovery file, and restoring it after a crash.

Every 30 s a modified document is written (atomically) to the recovery folder. A
clean exit removes the file; if it is still there at the next start, the app offers
to restore it. ``ROSENBLATT_RECOVERY_DIR`` moves the folder (tests, portable installs).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal

from app.document import Document
from graph_engine import Graph, GraphFileError, graph_from_dict, graph_to_dict
from graph_engine.atomic import write_text_atomic

AUTOSAVE_MS = 30_000
#: one file per running process, so two windows never restore or delete each other's work
PREFIX = "autosave-"


def _own_file() -> Path:
    return recovery_dir() / f"{PREFIX}{os.getpid()}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recovery_dir() -> Path:
    override = os.environ.get("ROSENBLATT_RECOVERY_DIR")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".rosenblatt") / "recovery"


@dataclass(frozen=True)
class Recovery:
    """What a crashed session left: the graph and the file it belonged to (if any)."""

    graph: Graph
    path: Path | None
    file: Path


def pending_recovery() -> Recovery | None:
    """The newest recovery file left by a session that did not exit cleanly (its process is
    gone), if readable. Files of running sessions are theirs, not ours."""
    folder = recovery_dir()
    candidates = []
    for file in folder.glob(f"{PREFIX}*.json") if folder.is_dir() else ():
        try:
            pid = int(file.stem[len(PREFIX):])
        except ValueError:
            continue
        if pid == os.getpid() or not _alive(pid):
            candidates.append(file)
    for file in sorted(candidates, key=lambda f: f.stat().st_mtime, reverse=True):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            graph = graph_from_dict(data["graph"], str(file))
        except (OSError, ValueError, KeyError, TypeError, RecursionError, GraphFileError):
            continue
        return Recovery(graph, Path(data["path"]) if data.get("path") else None, file)
    return None


def discard_recovery(recovery: Recovery | None = None) -> None:
    """Remove this session's recovery file (or a restored one)."""
    (recovery.file if recovery else _own_file()).unlink(missing_ok=True)


class Autosaver(QObject):
    """Writes the document to the recovery file while it has unsaved changes."""

    #: a one-line message when the recovery file cannot be written (autosave then stops)
    failed = Signal(str)

    def __init__(self, document: Document, interval_ms: int = AUTOSAVE_MS, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()
        document.state_changed.connect(self._state_changed)

    def save_now(self) -> None:
        if not self.document.dirty:
            return
        data = {"path": str(self.document.path) if self.document.path else None,
                "graph": graph_to_dict(self.document.graph)}
        try:
            _own_file().parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(_own_file(), json.dumps(data, ensure_ascii=False))
        except OSError as error:
            self.timer.stop()
            self.failed.emit(f"Autosave stopped: cannot write {_own_file()}: {error.strerror or error}")

    def _state_changed(self) -> None:
        if not self.document.dirty:
            discard_recovery()
