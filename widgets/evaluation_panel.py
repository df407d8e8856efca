"""The Evaluation panel: how the model does on the validation set, per class.

A classifier gets its confusion matrix (rows the true class, columns the predicted
one, each cell coloured by its share of the row, counts written in when there are
at most :data:`MAX_COUNTED_CLASSES` classes) with each class's accuracy as a bar
beside its row. A segmenter gets one validation image with its predicted and true
masks side by side, in one colour per class. Other tasks get a short message.

It draws the newest ``confusion`` / ``segmentation`` probe of a
:class:`~graph_engine.training.history.RunHistory` and redraws only when that probe
(or the task, or the epoch list) changed, so the app's 4 Hz :meth:`EvaluationPanel.refresh`
costs a few comparisons.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from graph_engine.training.history import RunHistory
from widgets.evaluation.confusion import MAX_COUNTED_CLASSES, ConfusionView, percent, share_color
from widgets.evaluation.segmentation import ERROR_COLOR, SegmentationView
from widgets.imaging import class_color
from widgets.theme import MUTED_STYLE

__all__ = [
    "ConfusionView", "ERROR_COLOR", "EvaluationPanel", "MAX_COUNTED_CLASSES", "NO_RUN_TEXT",
    "SegmentationView", "class_color", "share_color",
]

NO_RUN_TEXT = ("Train a classifier or a segmenter to see how it does on the validation set: "
               "a confusion matrix with per-class accuracy, or predicted masks.")
_TASK_WORDS = {"regression": "regression: its validation MSE is in the curves",
               "language_model": "character model: the Text panel shows what it writes"}


def _epoch_words(history: RunHistory, step: int) -> str:
    """``after epoch 2 (step 46)``, or ``at step 46`` when no epoch ended there."""
    for record in reversed(history.epochs):
        if record.get("step") == step:
            return f"after epoch {record['epoch']} (step {step:,})"
    return f"at step {step:,}"


class EvaluationPanel(QWidget):
    """Confusion matrix or masks of the newest epoch (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._key: tuple | None = None
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.message = QLabel(NO_RUN_TEXT)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(MUTED_STYLE + " padding: 16px;")
        self.confusion = ConfusionView()
        self.segmentation = SegmentationView()
        self.stack = QStackedWidget()
        for page in (self.message, self.confusion, self.segmentation):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.refresh()

    @property
    def mode(self) -> str:
        """What is shown: ``message``, ``confusion`` or ``segmentation``."""
        return {self.message: "message", self.confusion: "confusion",
                self.segmentation: "segmentation"}[self.stack.currentWidget()]

    def set_history(self, history: RunHistory | None) -> None:
        self._history = history
        self._key = None
        self.refresh()

    def refresh(self) -> None:
        """Redraw when the run, its task, its evaluation probes or its epochs changed."""
        history = self._history
        if history is None:
            key: tuple = (None,)
        else:
            probes = history.probes
            key = (id(history), history.task, history.status, len(history.epochs),
                   *(probes[kind].step if kind in probes else None for kind in ("confusion", "segmentation")))
        if key == self._key:
            return
        self._key = key
        if history is None or not history.task:
            self._show_message(NO_RUN_TEXT)
        elif history.task == "classification":
            self._show_confusion(history)
        elif history.task == "segmentation":
            self._show_segmentation(history)
        else:
            words = _TASK_WORDS.get(history.task, history.task.replace("_", " "))
            self._show_message(f"No evaluation view for this task ({words}).")

    def _show_message(self, text: str) -> None:
        self.caption.setText("")
        self.caption.hide()
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def _missing(self, history: RunHistory, what: str) -> None:
        if history.active:
            self._show_message(f"The {what} appears at the end of the first epoch.")
        else:
            self._show_message(f"This run has no {what}: it is computed while training, at each "
                               "epoch's end (a run opened from its folder has its curves only).")

    def _show_confusion(self, history: RunHistory) -> None:
        probe = history.probes.get("confusion")
        if probe is None:
            self._missing(history, "confusion matrix")
            return
        data = probe.data
        matrix = np.asarray(data["matrix"], dtype=np.int64)
        self.confusion.set_confusion(matrix, data.get("per_class_accuracy"), data.get("class_names"))
        total, right = int(matrix.sum()), int(np.trace(matrix))
        accuracy = right / total if total else 0.0
        self.caption.setText(f"Accuracy {percent(accuracy)} ({right:,} of {total:,} validation samples), "
                             f"{_epoch_words(history, probe.step)}")
        self.caption.show()
        self.stack.setCurrentWidget(self.confusion)

    def _show_segmentation(self, history: RunHistory) -> None:
        probe = history.probes.get("segmentation")
        if probe is None:
            self._missing(history, "predicted mask")
            return
        data = probe.data
        self.segmentation.set_segmentation(data["image"], data["predicted"], data["true"],
                                           data.get("class_names"))
        predicted, true = self.segmentation.predicted, self.segmentation.true
        counted = true >= 0
        pixels = int(counted.sum())
        right = float((predicted[counted] == true[counted]).sum() / pixels) if pixels else 0.0
        parts = []
        mean_iou = history.epochs[-1]["val"].get("mean_iou") if history.epochs else None
        if mean_iou is not None:
            parts.append(f"Mean IoU {mean_iou:.3f} on the validation set")
        parts.append(f"this image: {percent(right)} of pixels right")
        text = f"{', '.join(parts)}; {_epoch_words(history, probe.step)}"
        self.caption.setText(text[0].upper() + text[1:])
        self.caption.show()
        self.stack.setCurrentWidget(self.segmentation)
