"""The Text panel: what a character model writes, on demand and during training.

The top half asks the run's checkpoint for text: a prompt, a length, and either
sampling at a temperature (beam 0), greedy decoding (beam 1) or beam search (beam
2 … 16). The panel only emits :attr:`TextPanel.generate_requested`; the app runs the
job (``app.run_inspector.RunInspector.generate``) and calls
:meth:`TextPanel.show_generated` or :meth:`TextPanel.show_error`.

The bottom half lists the samples the trainer wrote at each epoch's end, newest
first: the model learning to spell, one epoch at a time.

For an encoder–decoder's run (the seq2seq task) the top half decodes instead: a source
sentence typed in, or a validation sample (a sentence, or an image, which is shown),
greedy and beam search side by side, each candidate with its log-probability, against
the true output(s). It emits :attr:`TextPanel.decode_requested`; the app answers with
:meth:`TextPanel.show_decoded`. The bottom half lists the newest epoch's decodings of
the first validation samples against the truth.
"""

from __future__ import annotations

import html

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPixmap, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy,
    QSpinBox, QSplitter, QTextEdit, QVBoxLayout, QWidget,
)

from graph_engine.training.history import RunHistory
from widgets.decoded_html import PROMPT_COLOR, decoded_html, translations_html
from widgets.generation_progress import GenerationProgress
from widgets.theme import ERROR_STYLE, MUTED_STYLE

DEFAULT_PROMPT = "The "
DEFAULT_TEMPERATURE = 0.8
DEFAULT_LENGTH = 300
MAX_BEAM = 16
MAX_LENGTH = 5000
#: samples listed under "During training" (the newest)
MAX_SAMPLES = 100
LANGUAGE_MODEL = "language_model"
SEQ2SEQ = "seq2seq"
DEFAULT_DECODE_BEAM = 5
#: a captioning run's image is shown this many times its size (nearest neighbour)
IMAGE_SCALE = 4
NO_RUN_TIP = "Train a character model (e.g. the Character LSTM template) to generate text from it"
NO_SAMPLES_TEXT = "Each epoch's sample appears here, newest first"


def method_words(temperature: float, beam: int) -> str:
    """``sampled at temperature 0.8``, ``greedy (beam 1)`` or ``beam search, width 4``."""
    if beam >= 2:
        return f"beam search, width {beam}"
    if beam == 1:
        return "greedy (beam 1)"
    return f"sampled at temperature {temperature:g}"


def _image_samples(history: RunHistory) -> bool:
    """Whether the run's samples are (C, H, W): a captioner's, whose sources are images, not
    sentences. A replayed run knows its sample shape (dataset.json); a live one says it in its
    dataset description (``Dataset.describe``: "name: N train / M val, 3×32×48, …")."""
    if history.sample_shape is not None:
        return len(history.sample_shape) == 3
    parts = history.dataset.split(", ")
    return len(parts) > 1 and parts[1].count("×") == 2


class TextPanel(QWidget):
    """Generate from a character model's checkpoint; its samples during training."""

    #: (prompt, length, temperature, beam width; 0 = sample)
    generate_requested = Signal(str, int, float, int)
    #: encoder–decoders: (source sentence, validation sample index or -1, beam width)
    decode_requested = Signal(str, int, int)
    #: Cancel under a generation in progress
    cancel_requested = Signal()

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
        self.progress = GenerationProgress()
        self.progress.cancel_requested.connect(self.cancel_requested)
        generate_layout.addWidget(self.progress)
        generate_layout.addWidget(self.status)
        generate_layout.addWidget(self.output, 1)

        self.samples_view = QTextEdit()
        self.samples_view.setReadOnly(True)
        self.samples_view.setFont(fixed)
        self.samples_view.setPlaceholderText(NO_SAMPLES_TEXT)
        samples_box = QGroupBox("During training")
        samples_layout = QVBoxLayout(samples_box)
        samples_layout.addWidget(self.samples_view)

        self.generate_box = generate_box
        self.decode_box = self._build_decode_box(fixed)
        self.decode_box.hide()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(generate_box)
        self.splitter.addWidget(self.decode_box)
        self.splitter.addWidget(samples_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 3)  # the decoding box (an encoder–decoder's run)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self._update_button()

    def _build_decode_box(self, fixed) -> QGroupBox:
        self.source_edit = QLineEdit()
        self.source_edit.setFont(fixed)
        self.source_edit.setPlaceholderText("a source sentence, e.g. four thousand seventeen")
        self.source_edit.setToolTip("The sentence to translate (tokens the run's vocabulary lacks are refused)")
        self.source_edit.returnPressed.connect(lambda: self._decode_clicked(use_sample=False))
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(0, 0)
        self.sample_spin.setToolTip("A validation sample: its source (sentence or image) and its true output(s)")
        self.decode_beam_spin = QSpinBox()
        self.decode_beam_spin.setRange(1, MAX_BEAM)
        self.decode_beam_spin.setValue(DEFAULT_DECODE_BEAM)
        self.decode_beam_spin.setToolTip("Beam width K: the K best outputs are listed (1 = greedy)")
        self.decode_text_button = QPushButton("Decode")
        self.decode_text_button.setToolTip("Decode the sentence typed on the left")
        self.decode_text_button.clicked.connect(lambda: self._decode_clicked(use_sample=False))
        self.decode_sample_button = QPushButton("Decode sample")
        self.decode_sample_button.setToolTip("Decode the chosen validation sample")
        self.decode_sample_button.clicked.connect(lambda: self._decode_clicked(use_sample=True))
        source_row = QHBoxLayout()
        self.source_label = QLabel("Source")
        source_row.addWidget(self.source_label)
        source_row.addWidget(self.source_edit, 1)
        source_row.addWidget(self.decode_text_button)
        sample_row = QHBoxLayout()
        sample_row.addWidget(QLabel("Validation sample"))
        sample_row.addWidget(self.sample_spin)
        sample_row.addWidget(self.decode_sample_button)
        sample_row.addSpacing(8)
        sample_row.addWidget(QLabel("Beam"))
        sample_row.addWidget(self.decode_beam_spin)
        sample_row.addStretch(1)
        self.decode_status = QLabel()
        self.decode_status.setTextFormat(Qt.TextFormat.PlainText)
        self.decode_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.decode_status.setStyleSheet(MUTED_STYLE)
        self.image_label = QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.image_label.hide()
        self.decoded_view = QTextEdit()
        self.decoded_view.setReadOnly(True)
        self.decoded_view.setPlaceholderText("Greedy decoding and the beam's candidates appear here")
        results = QHBoxLayout()
        results.addWidget(self.image_label)
        results.addWidget(self.decoded_view, 1)
        box = QGroupBox("Decode from the checkpoint")
        layout = QVBoxLayout(box)
        layout.addLayout(source_row)
        layout.addLayout(sample_row)
        layout.addWidget(self.decode_status)
        layout.addLayout(results, 1)
        self.decoded: Any = None
        return box

    # -- the run ------------------------------------------------------------------
    def set_history(self, history: RunHistory | None) -> None:
        """Show another run (text generated from the previous one is cleared)."""
        if history is not self._history:
            self.output.clear()
            self.decoded_view.clear()
            self.image_label.clear()
            self.image_label.hide()
            self.decoded = None
            self._requested = None
            self.progress.finish()
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
        translations = history.probes.get("translations") if history is not None else None
        key = (id(history), len(history.samples) if history is not None else 0,
               translations.step if translations is not None else None)
        if key != self._shown_samples:
            self._shown_samples = key
            if task == SEQ2SEQ:
                self._show_translations(translations)
            else:
                self._show_samples()
        if history is not None and history.validation_samples:
            self.sample_spin.setMaximum(max(0, history.validation_samples - 1))

    @property
    def sample_count(self) -> int:
        """Samples listed under "During training"."""
        return 0 if self._history is None else min(len(self._history.samples), MAX_SAMPLES)

    def _update_button(self) -> None:
        task = self._shown_task
        seq2seq = task == SEQ2SEQ
        self.decode_box.setVisible(seq2seq)
        self.generate_box.setVisible(not seq2seq)
        if seq2seq:
            images = self._history is not None and _image_samples(self._history)
            self.source_edit.setEnabled(not images)
            self.decode_text_button.setEnabled(not images)
            self.source_label.setEnabled(not images)
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

    def _show_translations(self, result) -> None:
        """The newest epoch's decodings of the first validation samples, against the truth."""
        if result is None:
            self.samples_view.setHtml("")
            self.samples_view.setPlaceholderText("Each epoch's decodings of validation samples appear here")
            return
        self.samples_view.setHtml(translations_html(result))

    @property
    def translation_count(self) -> int:
        history = self._history
        result = history.probes.get("translations") if history is not None else None
        return 0 if result is None else len(result.data.get("rows", []))

    # -- decoding (encoder–decoders) ----------------------------------------------
    def _decode_clicked(self, use_sample: bool) -> None:
        if self._shown_task != SEQ2SEQ:
            return
        source = self.source_edit.text().strip()
        if not use_sample and not source:
            self.show_decode_error("type a source sentence, or decode a validation sample")
            return
        index = self.sample_spin.value() if use_sample else -1
        beam = self.decode_beam_spin.value()
        what = f"validation sample {index}" if use_sample else repr(source)
        self.decode_status.setStyleSheet(MUTED_STYLE)
        self.decode_status.setText(f"Decoding {what}: greedy and beam search of width {beam}…")
        self.decode_requested.emit(source, index, beam)

    def show_decoded(self, decoded: Any) -> None:
        """Greedy and beam side by side, with scores, against the truth (see app.run_inspector.Decoded)."""
        self.decoded = decoded
        if decoded.image is not None:
            image = decoded.image
            height, width = image.shape[:2]
            qimage = QImage(image.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
            self.image_label.setPixmap(QPixmap.fromImage(qimage).scaled(
                width * IMAGE_SCALE, height * IMAGE_SCALE, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation))
            self.image_label.show()
        else:
            self.image_label.clear()
            self.image_label.hide()
        self.decoded_view.setHtml(decoded_html(decoded))
        self.decode_status.setStyleSheet(MUTED_STYLE)
        self.decode_status.setText(f"Greedy and beam search (width {decoded.beam_width}, score = log P / "
                                   f"length), from the checkpoint at step {decoded.step:,}")

    def show_decode_error(self, text: str) -> None:
        line = " ".join(str(text).split()) or "decoding failed"
        self.decode_status.setStyleSheet(ERROR_STYLE)
        self.decode_status.setText(line)
        self.decode_status.setToolTip(line)

    @property
    def decode_caption(self) -> str:
        return self.decode_status.text()

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
        self.progress.start(length)
        self.generate_requested.emit(prompt, length, temperature, beam)

    def show_busy(self, text: str) -> None:
        """A neutral status line (a request under way, or why Generate is off)."""
        self.status.setStyleSheet(MUTED_STYLE)
        self.status.setText(text)
        self.status.setToolTip(text)

    def show_progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` characters generated so far (the job runs in another thread)."""
        if self.progress.isVisibleTo(self) and total == self.progress.bar.maximum():
            self.progress.advance(done)

    def show_generated(self, step: int, text: str) -> None:
        """The text of the last request, from the checkpoint at ``step`` (shorter when cancelled)."""
        self.progress.finish()
        prompt, length, temperature, beam = self._requested or (
            self.prompt_edit.text(), len(text), self.temperature_spin.value(), self.beam_spin.value())
        self.output.clear()
        cursor = self.output.textCursor()
        muted = QTextCharFormat()
        muted.setForeground(QColor(PROMPT_COLOR))
        cursor.insertText(prompt, muted)
        cursor.insertText(text, QTextCharFormat())
        self.output.moveCursor(QTextCursor.MoveOperation.Start)
        method = method_words(temperature, beam)
        stopped = f"; stopped after {len(text):,} of {length:,} characters" if len(text) < length else ""
        self.show_busy(f"{method[0].upper()}{method[1:]}, from the checkpoint at step {step:,}{stopped}")

    def show_error(self, text: str) -> None:
        """A failed request: its message on one line."""
        self.progress.finish()
        line = " ".join(str(text).split()) or "generating failed"
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(line)
        self.status.setToolTip(line)

    @property
    def caption(self) -> str:
        return self.status.text()
