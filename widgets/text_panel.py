"""The Text panel: what a character model writes, on demand and during training.

The top half asks the run's checkpoint for text: a prompt, a length, and either
sampling at a temperature (beam 0), greedy decoding (beam 1) or beam search (beam
2 … 16). The panel only emits :attr:`TextPanel.generate_requested`; the app runs the
job (``app.run_inspector.RunInspector.generate``) and calls
:meth:`TextPanel.show_generated` or :meth:`TextPanel.show_error`.

The bottom half lists the samples the trainer wrote at each epoch's end, newest
first: the model learning to spell, one epoch at a time.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy,
    QSpinBox, QSplitter, QTextEdit, QVBoxLayout, QWidget,
)

from graph_engine.training.history import RunHistory
from widgets.theme import ERROR_STYLE, MUTED_STYLE

DEFAULT_PROMPT = "The "
DEFAULT_TEMPERATURE = 0.8
DEFAULT_LENGTH = 300
MAX_BEAM = 16
MAX_LENGTH = 5000
#: samples listed under "During training" (the newest)
MAX_SAMPLES = 100
LANGUAGE_MODEL = "language_model"
PROMPT_COLOR = "#8a8f98"
NO_RUN_TIP = "Train a character model (e.g. the Character LSTM template) to generate text from it"
NO_SAMPLES_TEXT = "Each epoch's sample appears here, newest first"


def method_words(temperature: float, beam: int) -> str:
    """``sampled at temperature 0.8``, ``greedy (beam 1)`` or ``beam search, width 4``."""
    if beam >= 2:
        return f"beam search, width {beam}"
    if beam == 1:
        return "greedy (beam 1)"
    return f"sampled at temperature {temperature:g}"


class TextPanel(QWidget):
    """Generate from a character model's checkpoint; its samples during training."""

    #: (prompt, length, temperature, beam width; 0 = sample)
    generate_requested = Signal(str, int, float, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._shown_samples: tuple[int, int] | None = None
        self._shown_task: str | None = None
        #: the settings of the last request, for the caption of its result
        self._requested: tuple[str, int, float, int] | None = None
        #: why Generate is off, while the status line says so
        self._disabled_tip = ""
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.prompt_edit = QLineEdit(DEFAULT_PROMPT)
        self.prompt_edit.setFont(fixed)
        self.prompt_edit.setToolTip("The text the model continues (characters it has never seen "
                                    "are left out)")
        self.prompt_edit.returnPressed.connect(self._generate_clicked)
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.0, 2.0)
        self.temperature_spin.setSingleStep(0.1)
        self.temperature_spin.setDecimals(2)
        self.temperature_spin.setValue(DEFAULT_TEMPERATURE)
        self.temperature_spin.setToolTip("Sampling temperature: 0 always takes the likeliest "
                                         "character, 1 samples the model as it is, above 1 is wilder")
        self.beam_spin = QSpinBox()
        self.beam_spin.setRange(0, MAX_BEAM)
        self.beam_spin.setSpecialValueText("sample")
        self.beam_spin.setToolTip("0 (sample): draw each character at the temperature; 1: greedy; "
                                  "2 or more: beam search keeps that many best continuations")
        self.beam_spin.valueChanged.connect(self._beam_changed)
        self.length_spin = QSpinBox()
        self.length_spin.setRange(1, MAX_LENGTH)
        self.length_spin.setSingleStep(50)
        self.length_spin.setValue(DEFAULT_LENGTH)
        self.length_spin.setSuffix(" chars")
        self.length_spin.setToolTip("How many characters to generate after the prompt")
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self._generate_clicked)

        knobs = QHBoxLayout()
        for label, spin in (("Temperature", self.temperature_spin), ("Beam", self.beam_spin),
                            ("Length", self.length_spin)):
            knobs.addWidget(QLabel(label))
            knobs.addWidget(spin)
            knobs.addSpacing(4)
        knobs.addStretch(1)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt_edit, 1)
        prompt_row.addWidget(self.generate_button)
        form.addRow("Prompt", prompt_row)

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setStyleSheet(MUTED_STYLE)
        self.output = QTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(fixed)
        self.output.setPlaceholderText("Generated text appears here")
        generate_box = QGroupBox("Generate from the checkpoint")
        generate_layout = QVBoxLayout(generate_box)
        generate_layout.addLayout(form)
        generate_layout.addLayout(knobs)
        generate_layout.addWidget(self.status)
        generate_layout.addWidget(self.output, 1)

        self.samples_view = QTextEdit()
        self.samples_view.setReadOnly(True)
        self.samples_view.setFont(fixed)
        self.samples_view.setPlaceholderText(NO_SAMPLES_TEXT)
        samples_box = QGroupBox("During training")
        samples_layout = QVBoxLayout(samples_box)
        samples_layout.addWidget(self.samples_view)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(generate_box)
        self.splitter.addWidget(samples_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self._update_button()

    # -- the run ------------------------------------------------------------------
    def set_history(self, history: RunHistory | None) -> None:
        """Show another run (text generated from the previous one is cleared)."""
        if history is not self._history:
            self.output.clear()
            self._requested = None
            self.show_busy("")
        self._history = history
        self._shown_samples = None
        self._shown_task = None
        self.refresh()

    def refresh(self) -> None:
        """Cheap unless the run's task or its number of samples changed."""
        history = self._history
        task = history.task if history is not None else None
        if task != self._shown_task:
            self._shown_task = task
            self._update_button()
        key = (id(history), len(history.samples) if history is not None else 0)
        if key != self._shown_samples:
            self._shown_samples = key
            self._show_samples()

    @property
    def sample_count(self) -> int:
        """Samples listed under "During training"."""
        return 0 if self._history is None else min(len(self._history.samples), MAX_SAMPLES)

    def _update_button(self) -> None:
        task = self._shown_task
        if task == LANGUAGE_MODEL:
            self.generate_button.setEnabled(True)
            self.generate_button.setToolTip("Continue the prompt with the run's best checkpoint")
            if self.status.text() == self._disabled_tip:
                self.show_busy("")
        else:
            self.generate_button.setEnabled(False)
            tip = (NO_RUN_TIP if not task else
                   f"Generating needs a character model; this run's task is {task.replace('_', ' ')}")
            self.generate_button.setToolTip(tip)
            self._disabled_tip = tip
            self.show_busy(tip)

    def _show_samples(self) -> None:
        samples = [] if self._history is None else self._history.samples[-MAX_SAMPLES:]
        parts = []
        for step, prompt, text in reversed(samples):
            parts.append(
                f'<p style="margin: 6px 0 2px 0; color: {PROMPT_COLOR}; font-family: sans-serif;">'
                f'<b>after step {step:,}</b></p>'
                f'<pre style="margin: 0 0 8px 0; white-space: pre-wrap;">'
                f'<span style="color: {PROMPT_COLOR};">{html.escape(prompt)}</span>{html.escape(text)}</pre>')
        self.samples_view.setHtml("".join(parts))

    # -- generating ---------------------------------------------------------------
    def _beam_changed(self, beam: int) -> None:
        self.temperature_spin.setEnabled(beam == 0)

    def _generate_clicked(self) -> None:
        if not self.generate_button.isEnabled():
            return
        request = (self.prompt_edit.text(), self.length_spin.value(),
                   round(self.temperature_spin.value(), 2), self.beam_spin.value())
        self._requested = request
        prompt, length, temperature, beam = request
        self.show_busy(f"Generating {length:,} characters ({method_words(temperature, beam)})…")
        self.generate_requested.emit(prompt, length, temperature, beam)

    def show_busy(self, text: str) -> None:
        """A neutral status line (a request under way, or why Generate is off)."""
        self.status.setStyleSheet(MUTED_STYLE)
        self.status.setText(text)
        self.status.setToolTip(text)

    def show_generated(self, step: int, text: str) -> None:
        """The text of the last request, from the checkpoint at ``step``."""
        prompt, _, temperature, beam = self._requested or (
            self.prompt_edit.text(), 0, self.temperature_spin.value(), self.beam_spin.value())
        self.output.clear()
        cursor = self.output.textCursor()
        muted = QTextCharFormat()
        muted.setForeground(QColor(PROMPT_COLOR))
        cursor.insertText(prompt, muted)
        cursor.insertText(text, QTextCharFormat())
        self.output.moveCursor(QTextCursor.MoveOperation.Start)
        method = method_words(temperature, beam)
        self.show_busy(f"{method[0].upper()}{method[1:]}, from the checkpoint at step {step:,}")

    def show_error(self, text: str) -> None:
        """A failed request: its message on one line."""
        line = " ".join(str(text).split()) or "generating failed"
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(line)
        self.status.setToolTip(line)

    @property
    def caption(self) -> str:
        return self.status.text()
