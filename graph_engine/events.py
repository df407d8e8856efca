"""A minimal signal: the engine's own event mechanism, so it never needs Qt.

The app's bridge subscribes to these and re-emits Qt signals (ryvencore's pattern).
A listener that raises never cuts a mutation short: every listener is called, and
only then are the failures raised together as a :class:`ListenerError`, so the
model (already changed) and every other view stay in step, and an undo command can
still record the inverse of what happened.
"""

from __future__ import annotations

from typing import Any, Callable


class ListenerError(RuntimeError):
    """One or more listeners of a signal raised; the change they were told of has happened."""

    def __init__(self, signal: str, errors: list[BaseException]):
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"a listener of {signal} failed: {type(first).__name__}: {first}{more}")
        self.signal = signal
        self.errors = errors


class Signal:
    """Holds callbacks and calls each, in subscription order, on ``emit``."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    @property
    def listener_count(self) -> int:
        return len(self._callbacks)

    def emit(self, *args: Any) -> None:
        errors: list[BaseException] = []
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as error:  # noqa: BLE001 (the others must still hear of it)
                errors.append(error)
        if errors:
            raise ListenerError(self.name, errors) from errors[0]

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._callbacks)} listeners)>"
