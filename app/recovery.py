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

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from app.document import Document
from graph_engine import Graph, GraphFileError, graph_from_dict, graph_to_dict
from graph_engine.serialization import write_text_atomic

AUTOSAVE_MS = 30_000
FILE_NAME = "autosave.json"


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
    """The recovery file left by a session that did not exit cleanly, if readable."""
    file = recovery_dir() / FILE_NAME
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        graph = graph_from_dict(data["graph"], str(file))
    except (OSError, ValueError, KeyError, TypeError, GraphFileError):
        return None
    return Recovery(graph, Path(data["path"]) if data.get("path") else None, file)


def discard_recovery() -> None:
    (recovery_dir() / FILE_NAME).unlink(missing_ok=True)


class Autosaver(QObject):
    """Writes the document to the recovery file while it has unsaved changes."""

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
        folder = recovery_dir()
        folder.mkdir(parents=True, exist_ok=True)
        data = {"path": str(self.document.path) if self.document.path else None,
                "graph": graph_to_dict(self.document.graph)}
        write_text_atomic(folder / FILE_NAME, json.dumps(data, ensure_ascii=False))

    def _state_changed(self) -> None:
        if not self.document.dirty:
            discard_recovery()
