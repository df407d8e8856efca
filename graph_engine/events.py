"""A minimal signal: the engine's own event mechanism, so it never needs Qt.

The app's bridge subscribes to these and re-emits Qt signals (ryvencore's pattern).
"""

from __future__ import annotations

from typing import Any, Callable


class Signal:
    """Holds callbacks and calls each, in subscription order, on ``emit``."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._callbacks)} listeners)>"
