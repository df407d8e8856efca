"""The Training panel: what to train on and how, Start / Pause / Stop, and progress.

It edits the graph's ``training`` section through intents (``settings_edited``), so
changes are undoable and saved with the file; :meth:`TrainingPanel.show_settings`
fills the fields without emitting anything. The buttons emit intents too; the app
starts and steers the training process and reports back through :meth:`show_run`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QDoubleValidator
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QMenu, QProgressBar,
    QPushButton, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from graph_engine.data.names import BUILTIN_DATASETS, SEQ2SEQ_DATASETS
from graph_engine.training.history import RunHistory
from widgets.best_result import best_text
from graph_engine.training.settings import (
    DEVICES, OPTIMIZERS, PERCEPTRON_LOSSES, PERCEPTRON_RULE, SAMPLING_DECAYS, SCHEDULES, TASK_CHOICES,
    TrainingSettings,
)
from graph_engine.weight_params import SCHEMES

DATA_FILTER = ("Data files (*.csv *.npz *.txt *.idx *-ubyte *.gz *.bin);;CSV (*.csv);;NumPy (*.npz);;"
               "Text (*.txt);;All files (*)")
_DEFAULTS = TrainingSettings()
_BANNER_STYLE = "background: #fff4e5; color: #7a4a00; border: 1px solid #f0c36d; padding: 4px;"
_ERROR_STYLE = "color: #c62828;"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class FloatField(QLineEdit):
    """A float in plain or 1e-3 notation; emits ``value_edited`` when a valid value is entered."""

    value_edited = Signal(float)

    def __init__(self, minimum: float, maximum: float, parent: QWidget | None = None):
        super().__init__(parent)
        validator = QDoubleValidator(minimum, maximum, 17, self)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.setValidator(validator)
        self._value: float | None = None
        self.editingFinished.connect(self._finished)

    def set_value(self, value: float) -> None:
        """Show ``value`` exactly (repr: the shortest text that reads back as the same float)."""
        self._value = value
        self.setText(repr(float(value)))

    def _finished(self) -> None:
        try:
            value = float(self.text())
        except ValueError:
            return
        if math.isfinite(value) and value != self._value:
            self.value_edited.emit(value)

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Leaving text that is not a valid value shows the setting again (it never changed)."""
        super().focusOutEvent(event)
        if not self.hasAcceptableInput() and self._value is not None:
            self.set_value(self._value)


class TrainingPanel(QWidget):
    """Settings form, run buttons and a progress line (see the module docstring)."""

    #: (changes, continuing): continuing edits (spin steps) merge into one undo step
    settings_edited = Signal(dict, bool)
    #: ("training", setting): the context action "Vary this…" on a setting's label, for a sweep
    vary_requested = Signal(str, str)
    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None, cuda_name: str | None = None):
        super().__init__(parent)
        self._filling = False
        self._process_running = False
        self._history: RunHistory | None = None
        self._last_version = -1
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.dataset = QComboBox()
        self.dataset.setEditable(False)
        self.dataset.setToolTip("Built-in datasets, or a file or folder chosen with Open data…")
        self.dataset.addItems(BUILTIN_DATASETS + SEQ2SEQ_DATASETS)
        self.dataset.currentTextChanged.connect(lambda text: self._edit("dataset", text))
        self.open_data = QToolButton()
        self.open_data.setText("Open data…")
        self.open_data.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.open_data)
        menu.addAction("File (CSV, NPZ, MNIST idx, CIFAR-10, text)…", self._choose_data_file)
        menu.addAction("Folder of images (one subfolder per class)…", self._choose_data_folder)
        self.open_data.setMenu(menu)
        self._menu = menu
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(self.open_data)
        form.addRow("Dataset", row)

        self.noise = FloatField(0.0, 10.0)
        self.noise.setToolTip("The 2-D toy problems (blobs, xor, circles, moons, spiral): the std of the "
                              "Gaussian jitter added to points that span about [-1, 1]")
        self.noise.value_edited.connect(lambda v: self._edit("noise", v))
        form.addRow("Noise (2-D data)", self.noise)
        self.task = self._combo("task", TASK_CHOICES)
        form.addRow("Task", self.task)
        self.perceptron_loss = self._combo("perceptron_loss", PERCEPTRON_LOSSES)
        self.perceptron_loss.setToolTip("The perceptron task's loss on targets t = ±1: the criterion "
                                        "max(0, −t·f(x)) or the hinge max(0, 1 − t·f(x))")
        form.addRow("Perceptron loss", self.perceptron_loss)
        self.optimizer = self._combo("optimizer", OPTIMIZERS)
        self.optimizer.setItemData(OPTIMIZERS.index("perceptron"), PERCEPTRON_RULE, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Optimizer", self.optimizer)
        self.learning_rate = FloatField(0.0, 100.0)
        self.learning_rate.value_edited.connect(lambda v: self._edit("learning_rate", v))
        form.addRow("Learning rate", self.learning_rate)
        self.schedule = self._combo("schedule", SCHEDULES)
        form.addRow("Schedule", self.schedule)
        self.batch_size = self._spin("batch_size", 1, 1 << 20)
        form.addRow("Batch size", self.batch_size)
        self.epochs = self._spin("epochs", 1, 10**6)
        form.addRow("Epochs", self.epochs)
        self.weight_decay = FloatField(0.0, 10.0)
        self.weight_decay.value_edited.connect(lambda v: self._edit("weight_decay", v))
        form.addRow("Weight decay", self.weight_decay)
        self.grad_clip = FloatField(0.0, 1e9)
        self.grad_clip.setToolTip("Clip the gradients' global L2 norm to this (0 = off)")
        self.grad_clip.value_edited.connect(lambda v: self._edit("grad_clip", v))
        form.addRow("Gradient clipping", self.grad_clip)
        # encoder–decoders (the seq2seq task): how the decoder is fed while training
        self.scheduled_sampling = self._combo("scheduled_sampling", SAMPLING_DECAYS)
        self.scheduled_sampling.setToolTip(
            "Encoder–decoders: off = teacher forcing (the true previous token); linear, exponential, "
            "inverse sigmoid = scheduled sampling, the chance of the true token decaying by the step; "
            "always = always the model's own token")
        form.addRow("Scheduled sampling", self.scheduled_sampling)
        self.sampling_midpoint = self._spin("sampling_midpoint", 1, 10**9)
        self.sampling_midpoint.setToolTip("The step at which the teacher-forcing probability has fallen to 1/2")
        form.addRow("Sampling midpoint", self.sampling_midpoint)
        self.sampling_tokens = self._combo("sampling_tokens", ("model", "uniform"))
        self.sampling_tokens.setToolTip("The tokens fed instead of the truth: sampled from the model, or drawn "
                                        "uniformly from the vocabulary (the uniform variant)")
        form.addRow("Sampled tokens", self.sampling_tokens)
        self.seed = self._spin("seed", 0, 2**31 - 1)
        form.addRow("Seed", self.seed)
        self._add_init_rows(form)
        self.device = self._combo("device", DEVICES)
        if cuda_name:
            self.device.setItemText(DEVICES.index("auto"), f"auto (CUDA: {cuda_name})")
        else:
            self.device.setItemText(DEVICES.index("auto"), "auto (CPU: no CUDA device)")
        form.addRow("Device", self.device)
        self.probe_budget = FloatField(0.1, 100.0)
        self.probe_budget.setToolTip("The most time the live probes (activations, gradients, feature maps, "
                                     "samples) may take, in % of the training time: a ceiling, not a target. "
                                     "They are spaced by what each one costs on this network and device to "
                                     "take about half of it, so the ceiling holds with the epoch-end pictures")
        self.probe_budget.value_edited.connect(lambda v: self._edit("probe_budget", v))
        form.addRow("Probe budget (%)", self.probe_budget)
        for key, field in (("optimizer", self.optimizer), ("learning_rate", self.learning_rate),
                           ("schedule", self.schedule), ("batch_size", self.batch_size),
                           ("weight_decay", self.weight_decay), ("grad_clip", self.grad_clip), ("seed", self.seed),
                           ("init", self.init), ("probe_budget", self.probe_budget)):
            self._offer_vary(form.labelForField(field), key)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a snapshot of the graph (Ctrl+T)")
        self.start_button.clicked.connect(self.start_requested)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self._pause_clicked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; the run keeps its last checkpoint")
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress_label = QLabel("No run yet")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.changed_banner = QLabel("The graph has changed since this run started; the run trains "
                                     "the graph as it was.")
        self.changed_banner.setWordWrap(True)
        self.changed_banner.setStyleSheet(_BANNER_STYLE)
        self.changed_banner.hide()
        self.starved_banner = QLabel("")
        self.starved_banner.setWordWrap(True)
        self.starved_banner.setStyleSheet(_BANNER_STYLE)
        self.starved_banner.hide()
        self.run_label = QLabel("")
        self.run_label.setWordWrap(True)
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_label.setStyleSheet("color: palette(mid);")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        layout.addWidget(line)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.changed_banner)
        layout.addWidget(self.starved_banner)
        layout.addWidget(self.run_label)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        for combo in (self.dataset, self.task, self.optimizer, self.schedule, self.device):
            # as narrow as a dock column allows: a long item (a data path, the CUDA device's
            # name) must not push the buttons out of sight
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.show_settings({})
        self.show_run(None)

    # -- building -------------------------------------------------------------------
    def _add_init_rows(self, form: QFormLayout) -> None:
        """Initial weights: the graph-wide scheme (a node's own init wins), its std, and the run
        whose weights the next training starts from (a branch), with a button to clear it."""
        self.init = self._combo("init", SCHEMES)
        self.init.setToolTip("Initial weights of every layer whose own init is 'default' "
                             "(torch = each layer's PyTorch default)")
        form.addRow("Initial weights", self.init)
        self.init_std = FloatField(0.0, 10.0)
        self.init_std.setToolTip("Standard deviation of the 'normal' initial weights")
        self.init_std.value_edited.connect(lambda v: self._edit("init_std", v))
        form.addRow("Init std", self.init_std)
        self.init_from = QLabel()
        self.init_from.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.clear_init_from = QToolButton()
        self.clear_init_from.setText("Clear")
        self.clear_init_from.setToolTip("Start the next training from fresh weights")
        self.clear_init_from.clicked.connect(lambda: self._edit("init_from", ""))
        row = QHBoxLayout()
        row.addWidget(self.init_from, 1)
        row.addWidget(self.clear_init_from)
        form.addRow("Start from", row)

    def _offer_vary(self, label: QWidget, key: str) -> None:
        """Right-click a setting's label → "Vary this…": mark it for a sweep."""
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        action = QAction("Vary this…", label)
        action.triggered.connect(lambda _checked=False: self.vary_requested.emit("training", key))
        label.addAction(action)

    def _combo(self, key: str, choices: tuple[str, ...]) -> QComboBox:
        combo = QComboBox()
        for choice in choices:
            combo.addItem(choice.replace("_", " "), choice)
        combo.currentIndexChanged.connect(lambda _i: self._edit(key, combo.currentData()))
        return combo

    def _spin(self, key: str, minimum: int, maximum: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(minimum, maximum)
        spin.setKeyboardTracking(False)
        spin.setGroupSeparatorShown(False)
        spin.valueChanged.connect(lambda value: self._edit(key, int(value), continuing=True))
        return spin

    # -- intents --------------------------------------------------------------------
    def _edit(self, key: str, value: Any, continuing: bool = False) -> None:
        if not self._filling and value is not None:
            self.settings_edited.emit({key: value}, continuing)

    def _choose_data_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open data", "", DATA_FILTER)
        if path:
            self._edit("dataset", path)

    def _choose_data_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self._edit("dataset", path)

    def _pause_clicked(self) -> None:
        if self._history is not None and self._history.status == "paused":
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    # -- showing state --------------------------------------------------------------
    def show_settings(self, training: dict[str, Any]) -> None:
        """Fill the fields from a graph's ``training`` section (defaults for missing keys)."""
        self._filling = True
        try:
            value = {**_DEFAULTS.to_dict(), **training}
            dataset = str(value["dataset"])
            if self.dataset.findText(dataset) < 0:
                self.dataset.addItem(dataset)
            self.dataset.setCurrentText(dataset)
            self.dataset.setToolTip(dataset)
            source = str(value.get("init_from") or "")
            self.init_from.setText(Path(source).name if source else "fresh weights")
            self.init_from.setToolTip(source or "The next training starts from freshly initialised weights")
            self.clear_init_from.setEnabled(bool(source))
            for key in ("task", "optimizer", "schedule", "device", "scheduled_sampling", "sampling_tokens", "init",
                        "perceptron_loss"):
                combo: QComboBox = getattr(self, key)
                index = combo.findData(value[key])
                combo.setCurrentIndex(max(0, index))
            for key in ("batch_size", "epochs", "seed", "sampling_midpoint"):
                spin: QSpinBox = getattr(self, key)
                try:
                    spin.setValue(int(value[key]))
                except (TypeError, ValueError):
                    pass
            for key in ("learning_rate", "weight_decay", "grad_clip", "init_std", "probe_budget", "noise"):
                field: FloatField = getattr(self, key)
                try:
                    field.set_value(float(value[key]))
                except (TypeError, ValueError):
                    field.setText(str(value[key]))
        finally:
            self._filling = False

    def set_process_running(self, running: bool) -> None:
        """Whether a training process still exists (Start waits until it is gone)."""
        self._process_running = running
        self.start_button.setEnabled(self._start_allowed())

    def _start_allowed(self) -> bool:
        status = self._history.status if self._history is not None else "idle"
        return status not in ("starting", "running", "paused") and not self._process_running

    def set_history(self, history: RunHistory | None) -> None:
        self._last_version = -1
        self.show_run(history)

    def refresh(self) -> None:
        """Redraw the progress line when the run has said something new."""
        history = self._history
        if history is not None and history.version != self._last_version:
            self._last_version = history.version
            self.show_run(history)

    def set_graph_changed(self, changed: bool) -> None:
        """Say (during or after a run) that the document differs from the run's snapshot."""
        self.changed_banner.setVisible(changed)

    def show_run(self, history: RunHistory | None) -> None:
        """Buttons, progress bar and messages for the current run (None: no run yet)."""
        self._history = history
        status = history.status if history is not None else "idle"
        active = status in ("starting", "running", "paused")
        self.start_button.setEnabled(self._start_allowed())
        self.pause_button.setEnabled(status in ("running", "paused"))
        self.pause_button.setText("Resume" if status == "paused" else "Pause")
        self.stop_button.setEnabled(active)
        for widget in (self.dataset, self.open_data):
            widget.setEnabled(not active)
        if history is None:
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.progress_label.setText("No run yet: press Start to train a snapshot of the graph")
            self.status_label.setText("")
            self.run_label.setText("")
            self.starved_banner.hide()
            return
        self._show_progress(history)
        self._show_status(history)
        self._show_pace(history)
        # a refused start made no folder: name only one that is there
        shown = history.run_dir is not None and history.status != "rejected" and history.run_dir.exists()
        self.run_label.setText(f"Run folder: {history.run_dir}" if shown else "")

    def _show_progress(self, history: RunHistory) -> None:
        total = history.total_steps
        step = history.step
        self.progress.setValue(int(1000 * step / total) if total else 0)
        self.progress.setFormat(f"{100 * step / total:.0f} %" if total else "")
        if history.status == "starting":
            self.progress_label.setText("Starting the training process…")
            return
        parts = []
        epochs = int(history.settings.get("epochs", 0) or 0)
        if history.steps_per_epoch:
            # the epoch in progress while a run is active (paused too), else the epochs begun
            spe = history.steps_per_epoch
            in_progress = step // spe + 1 if history.status in ("running", "paused") else -(-step // spe)
            epoch = min(epochs or 10**9, in_progress)
            parts.append(f"epoch {max(1, epoch)}/{epochs}" if epochs else f"epoch {epoch}")
        parts.append(f"step {step:,}/{total:,}" if total else f"step {step:,}")
        rate = history.rate()
        if rate:
            parts.append(f"{rate:,.0f} steps/s" if rate >= 10 else f"{rate:.1f} steps/s")
        left = history.time_left() if history.status == "running" else None
        if left is not None:
            parts.append(f"{_duration(left)} left")
        if history.device:
            parts.append(history.device)
        share = history.probe_share
        if share is not None:
            parts.append(f"probes {100 * share:.1f} % of time")
        self.progress_label.setText(" · ".join(parts))

    def _show_pace(self, history: RunHistory) -> None:
        """Say when the training process gets too little CPU (other programs hold the cores)."""
        pace = history.pace
        if history.status != "running" or not pace.get("starved"):
            self.starved_banner.hide()
            return
        threads = int(pace.get("threads", 1))
        self.starved_banner.setText(
            f"Training is starved of CPU: it got {pace.get('cpu', 0.0):.2f} of a core per second "
            f"({threads} thread{'s' if threads != 1 else ''}) and runs at {pace.get('rate', 0.0):.1f} steps/s, "
            f"against {pace.get('best_rate', 0.0):.1f} at best in this run. Other programs are using the cores.")
        self.starved_banner.show()

    def _show_status(self, history: RunHistory) -> None:
        status, message = history.status, history.message
        found = best_text(history)
        best = f"best: validation {found}" if found != "—" else ""
        texts = {
            "starting": "Starting…",
            "running": f"Training on {history.dataset}" + (f" — {best}" if best else ""),
            "paused": message or "Paused",
            "finished": (message[:1].upper() + message[1:]) + (f" — {best}" if best else ""),
            "failed": f"Failed: {message}",
            "crashed": f"Crashed: {message}. The curves so far are kept; you can start a new run.",
            "rejected": f"Not started: {message}",
        }
        self.status_label.setText(texts.get(status, message))
        self.status_label.setStyleSheet(_ERROR_STYLE if status in ("failed", "crashed", "rejected") else "")
