"""A progress bar with a Cancel button for a long generation (text from a big character model).

Generating thousands of characters from a 2×256 LSTM takes seconds, and took a minute
before decoding was incremental: the bar counts characters done of the total, and Cancel
asks the job to stop (the text so far is kept). Hidden while nothing runs.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget


class GenerationProgress(QWidget):
    """Characters done / total, and Cancel; emits :attr:`cancel_requested`."""

    cancel_requested = Signal()

    def __init__(self, unit: str = "characters", parent: QWidget | None = None):
        super().__init__(parent)
        self.unit = unit
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop generating; the text so far is kept")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, total: int) -> None:
        """A new job of ``total`` characters: the bar at 0."""
        self.bar.setRange(0, max(1, total))
        self.advance(0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()

    def advance(self, done: int) -> None:
        self.bar.setValue(min(done, self.bar.maximum()))
        self.bar.setFormat(f"{done:,} / {self.bar.maximum():,} {self.unit}")

    def finish(self) -> None:
        self.hide()

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.cancel_requested.emit()
