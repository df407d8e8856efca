"""Opening a lesson in the window: its network and settings, its panels in front, and a Lesson
card (a dock below the Inspector) that says what to look for, what the course claims and what was measured.

A 2-D lesson may instead be applied to the network already open ("Use my graph"); when that
network's Input does not take 2 features, the lesson offers to set the Input's shape — an
ordinary undoable edit, so declining or undoing leaves the graph as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMessageBox, QVBoxLayout, QWidget

from graph_engine.lessons import Lesson, get_lesson
from graph_engine.probes import takes_two_features

if TYPE_CHECKING:
    from app.main_window import MainWindow

#: the object name (and key) of the Lesson card's dock
CARD_KEY = "lesson"


class LessonCard(QWidget):
    """The open lesson in a few lines: title, what to look for, the claim, the measured number."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self.lesson: Lesson | None = None

    def show_lesson(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.text.setText(lesson_html(lesson))


def lesson_html(lesson: Lesson) -> str:
    """The lesson as the card and the gallery show it."""
    verdict = {True: " — reproduces", False: " — <b>does not reproduce</b>", None: ""}[lesson.reproduces]
    measured = lesson.measured or "not measured yet"
    return (f"<h3>{lesson.number}. {lesson.title}</h3><p><b>Look for:</b> {lesson.look_for}</p>"
            f"<p><b>The course:</b> {lesson.claim}</p><p><b>Measured:</b> {measured}{verdict}</p>"
            f"<p style='color:#5f6368'>Run it headless: rosenblatt lesson {lesson.key} --headless</p>")


def lesson_card(window: "MainWindow") -> LessonCard:
    """The window's Lesson card, made (and docked beside the Inspector) the first time."""
    dock = window.findChild(QDockWidget, f"dock_{CARD_KEY}")
    if dock is None:
        dock = QDockWidget("Lesson", window)
        dock.setObjectName(f"dock_{CARD_KEY}")
        dock.setWidget(LessonCard())
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        # below the Inspector's tabs, not among them: the lesson stays in sight beside its panels
        window.splitDockWidget(window._docks["inspector"], dock, Qt.Orientation.Vertical)
        window._docks[CARD_KEY] = dock
    return dock.widget()


def open_lesson(window: "MainWindow", key: str, use_current: bool = False) -> bool:
    """Open lesson ``key``: its own network, or (a 2-D lesson, ``use_current``) its settings on the
    network already open. False when the person cancelled."""
    lesson = get_lesson(key)
    if use_current and lesson.two_d:
        if not _apply_to_current(window, lesson):
            return False
    else:
        if not window._confirm_discard():
            return False
        window.document.replace_graph(lesson.graph(), None)
        window.view.fit()
    if lesson.fields_on_canvas and not window.fields_action.isChecked():
        window.fields_action.trigger()  # the receptive fields on the cards
    card = lesson_card(window)
    card.show_lesson(lesson)
    window._docks[CARD_KEY].show()
    for panel in reversed(lesson.panels):
        window.present_dock(panel)
    window.show_status(f"Lesson {lesson.number}: {lesson.title}")
    return True


def _apply_to_current(window: "MainWindow", lesson: Lesson) -> bool:
    """The lesson's dataset and settings on the open network, after fixing its Input if need be."""
    analysis = window.document.analysis
    inputs = analysis.input_ids
    if len(inputs) != 1:
        QMessageBox.warning(window, "Lesson", f"{lesson.title} needs a network with one Input; this one has "
                                              f"{len(inputs)}")
        return False
    input_id = inputs[0]
    info = analysis.info(input_id)
    if info.out_shape is None or not takes_two_features(info.out_shape, info.dtype):
        shape = "×".join(str(d) for d in info.out_shape) if info.out_shape else "?"
        answer = QMessageBox.question(
            window, "The Input does not take 2 features",
            f"{lesson.title} trains on points with 2 features, but the Input '{input_id}' takes {shape}. "
            "Set the Input's shape to [2]?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        if not window.controller.edit_params(input_id, {"shape": [2], "dtype": "float32"}):
            return False
    training = lesson.graph().training
    return window.controller.edit_training(training)
