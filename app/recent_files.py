"""File → Open recent: the remembered files, newest first, in the app's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

MAX_RECENT = 8


class RecentFiles:
    """The list in ``settings`` and the menu that shows it (``open_path`` on a click)."""

    def __init__(self, settings: QSettings, menu: QMenu, open_path: Callable[[str], object]):
        self.settings = settings
        self.menu = menu
        self._open = open_path
        self.refresh()

    def entries(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: Path) -> None:
        resolved = str(path.resolve())
        recent = [resolved] + [p for p in self.entries() if p != resolved]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self.refresh()

    def refresh(self) -> None:
        self.menu.clear()
        for entry in self.entries():
            action = self.menu.addAction(entry)
            action.triggered.connect(lambda _checked=False, p=entry: self._open(p))
        self.menu.setEnabled(bool(self.entries()))

    def last_folder(self) -> Path:
        recent = self.entries()
        return Path(recent[0]).parent if recent else Path.cwd()
