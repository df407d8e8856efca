"""The document's sweep spec: the values marked to vary, the objectives, and Run sweep.

It shows the marked variations (``relu1.type=ReLU,Tanh,Sigmoid``) and emits intents:
``add_requested(text)`` for a variation typed in, ``remove_requested(index)``,
``run_requested()``. The app checks a text against the graph and answers with
:meth:`set_variations` or a one-line refusal in :meth:`set_message`.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout,
    QWidget,
)

OBJECTIVE_CHOICES = ("val.accuracy:max", "val.accuracy:max, params:min", "val.accuracy:max, macs:min",
                     "val.accuracy:max, step_time:min", "val.loss:min")


class SweepSpecPanel(QWidget):
    """See the module docstring."""

    add_requested = Signal(str)
    remove_requested = Signal(int)
    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.variations = QListWidget()
        self.entry = QLineEdit()
        self.entry.setPlaceholderText("act1.type=ReLU,Tanh · fc1.out_features=32,64 · "
                                      "training.learning_rate=log:1e-4:1e-1")
        self.entry.returnPressed.connect(self._add)
        add = QPushButton("Add")
        add.clicked.connect(self._add)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove)
        entry_row = QHBoxLayout()
        entry_row.addWidget(self.entry, 1)
        entry_row.addWidget(add)
        entry_row.addWidget(remove)
        self.objectives = QComboBox()
        self.objectives.setEditable(True)
        self.objectives.addItems(OBJECTIVE_CHOICES)
        self.trials = QSpinBox()
        self.trials.setRange(0, 10_000)
        self.trials.setSpecialValueText("grid: every combination")
        self.trials.setToolTip("0: run the grid; N: an Optuna search of N trials (TPE; NSGA-II for several objectives)")
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 10_000)
        self.epochs.setSpecialValueText("the graph's")
        self.jobs = QSpinBox()
        self.jobs.setRange(0, 256)
        self.jobs.setSpecialValueText("free cores")
        form = QFormLayout()
        form.addRow("Objectives", self.objectives)
        form.addRow("Trials", self.trials)
        form.addRow("Epochs per trial", self.epochs)
        form.addRow("Trials at once", self.jobs)
        self.run_button = QPushButton("Run sweep")
        self.run_button.clicked.connect(self.run_requested.emit)
        self.message = QLabel("Mark values to vary: right-click a parameter or the type in the Inspector "
                              "(Vary this…), or type one above.")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Values to vary"))
        layout.addWidget(self.variations, 1)
        layout.addLayout(entry_row)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.message)

    def set_variations(self, texts: Sequence[str]) -> None:
        self.variations.clear()
        self.variations.addItems(list(texts))
        self.run_button.setEnabled(bool(texts))

    def set_message(self, text: str) -> None:
        self.message.setText(text)

    def objective_texts(self) -> list[str]:
        return [t.strip() for t in self.objectives.currentText().split(",") if t.strip()]

    def _add(self) -> None:
        text = self.entry.text().strip()
        if text:
            self.add_requested.emit(text)

    def _remove(self) -> None:
        row = self.variations.currentRow()
        if row >= 0:
            self.remove_requested.emit(row)
