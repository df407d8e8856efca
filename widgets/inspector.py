"""The inspector: one node's identity, inferred shapes and costs, and its parameters.

The parameter form is built from the node type's ``ParamSpec``s in the registry, so
a new layer type needs no change here. The inspector never mutates the model: a
valid edit emits :attr:`Inspector.params_edited` (or :attr:`Inspector.label_edited`)
and the app turns it into an undoable command, then calls :meth:`Inspector.show_node`
again with the changed node, which updates the fields without emitting anything.

Editors per ParamSpec kind:

- ``int``: a spin box with the spec's range;
- ``float``: a spin box (6 decimals) when the range is bounded and representable,
  otherwise (e.g. ``eps`` down to 1e-12) a line edit that takes ``1e-5`` notation;
- ``bool``: a check box; ``choice``: a combo box;
- ``int_or_pair``, ``optional_int_or_pair``, ``padding`` and ``shape``: a line edit
  taking ``3``, ``3, 5``, ``[3, 5]``, ``same`` (padding), empty (optional = None)
  or ``1, 28, 28`` (shape).

Every value is checked with ``ParamSpec.check``; an invalid one is refused in its
field (red border, ``invalid`` property, the ParamError text under the field) and
nothing is emitted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGroupBox, QLabel, QLineEdit,
    QScrollArea, QSizePolicy, QSpinBox, QStackedWidget, QVBoxLayout, QWidget,
)

from graph_engine import NodeInfo, ParamError, ParamSpec, field_text, get_spec, shape_text
from graph_engine.model import Node

HINT_TEXT = "Select a node to see its parameters"
UNKNOWN = "unknown"
_INVALID_STYLE = "border: 1px solid #d32f2f; border-radius: 2px; padding: 1px;"
_INT_LIMIT = 2**31 - 1
_FLOAT_DECIMALS = 6


# -- text <-> value for the line-edit kinds ---------------------------------------------
def format_value(spec: ParamSpec, value: Any) -> str:
    """How a param value reads in its line edit (``[3, 5]`` -> ``3, 5``, None -> empty)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(spec: ParamSpec, text: str) -> Any:
    """Parse a line edit's text for ``spec`` and check it; raise ParamError if invalid."""
    raw = text.strip()
    if spec.kind == "float":
        try:
            number = float(raw)
        except ValueError:
            raise ParamError(f"{spec.name} must be a number, got {raw!r}") from None
        if not math.isfinite(number):
            raise ParamError(f"{spec.name} must be a finite number, got {raw!r}")
        return spec.check(number)
    if spec.kind == "padding" and raw.casefold() == "same":
        return spec.check("same")
    inner = raw
    if len(inner) >= 2 and inner[0] + inner[-1] in ("[]", "()"):
        inner = inner[1:-1].strip()
    if not inner:
        if spec.kind == "optional_int_or_pair":
            return spec.check(None)
        example = "1, 28, 28" if spec.kind == "shape" else "3 or 3, 5"
        raise ParamError(f"{spec.name} needs a value, e.g. {example}")
    parts = [p for p in re.split(r"[,\s×]+", inner) if p]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return spec.check(raw)  # the spec's own message names the expected form
    if spec.kind == "shape":
        return spec.check(numbers)
    return spec.check(numbers[0] if len(numbers) == 1 else numbers)


def editor_kind(spec: ParamSpec) -> str:
    """Which editor a ParamSpec gets: "spin", "double", "check", "combo" or "text"."""
    if spec.kind == "int":
        return "spin"
    if spec.kind == "float":
        bounded = spec.minimum is not None and spec.maximum is not None
        if bounded and (spec.minimum == 0 or abs(spec.minimum) >= 10 ** -_FLOAT_DECIMALS):
            return "double"
        return "text"
    if spec.kind == "bool":
        return "check"
    if spec.kind == "choice":
        return "combo"
    return "text"


def _tooltip(spec: ParamSpec) -> str:
    if spec.kind in ("int", "float", "int_or_pair", "optional_int_or_pair", "padding"):
        lo = "−∞" if spec.minimum is None else _num(spec.minimum)
        hi = "∞" if spec.maximum is None else _num(spec.maximum)
        if spec.minimum is not None or spec.maximum is not None:
            return f"{spec.help} (range {lo} … {hi})"
    return spec.help


def _num(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else repr(float(number))


# -- editors ----------------------------------------------------------------------------
class _FocusedWheel:
    """Mixin: ignore the wheel unless focused, so scrolling the form never edits a value."""

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _Stepping(_FocusedWheel):
    """Mixin for spin boxes: ``stepping`` is True while a change comes from stepping (arrows,
    wheel, Up/Down keys), so those edits can merge into one undo step."""

    stepping = False

    def _setup(self) -> None:
        self.setKeyboardTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def stepBy(self, steps: int) -> None:  # Qt override
        self.stepping = True
        try:
            super().stepBy(steps)
        finally:
            self.stepping = False


class _SpinBox(_Stepping, QSpinBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._setup()


class _DoubleSpinBox(_Stepping, QDoubleSpinBox):
    """A float spin box that shows no trailing zeros."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._setup()
        self.setLocale(QLocale.c())  # "0.5" everywhere, as in the graph files

    def textFromValue(self, value: float) -> str:  # Qt override
        text = f"{value:.{self.decimals()}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text


class _ComboBox(_FocusedWheel, QComboBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


@dataclass
class _Field:
    spec: ParamSpec
    kind: str
    editor: QWidget
    message: QLabel
    container: QWidget
    #: the canonical value the field stands for (last shown or last emitted)
    value: Any = None
    #: what a spin box showed for ``value`` (rounded to its decimals)
    shown: Any = None


class Inspector(QWidget):
    """Shows one node: id, type, label, inferred shapes and costs, and a parameter form.

    Signals:
        params_edited(str node_id, dict changes, bool continuing): a valid value that
            differs from the node's, as ``{param_name: canonical_value}`` (lists for
            pairs and shapes, None for an emptied optional field). ``continuing`` is
            True for each step of a spin box being stepped (arrow buttons, Up/Down and
            PageUp/PageDown keys, the wheel): consecutive continuing edits of the same
            node and param can be merged into one undo step. It is False for a
            committed edit (Enter or focus-out of typed text, a check box, a combo
            box), which is its own undo step. Every emission is a real change: leaving
            a field after stepping it emits nothing more.
        label_edited(str node_id, str label): the label field was committed with a new
            text (stripped; empty means "no label").
    """

    params_edited = Signal(str, object, bool)
    label_edited = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._node: Node | None = None
        self._fields: dict[str, _Field] = {}
        self._label_value = ""

        self.hint = QLabel(HINT_TEXT, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        _soften(self.hint)

        # header: type and its help
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # labels are user text
        self.help = QLabel(self)
        self.help.setWordWrap(True)
        self.help.setTextFormat(Qt.TextFormat.PlainText)
        _soften(self.help)

        # node identity
        self.node_box = QGroupBox("Node", self)
        node_form = QFormLayout(self.node_box)
        self.info_labels: dict[str, QLabel] = {}
        for key, caption in (("id", "Id"), ("type", "Type")):
            node_form.addRow(caption, self._info_label(key))
        self.label_edit = QLineEdit(self.node_box)
        self.label_edit.setPlaceholderText("(none)")
        self.label_edit.setToolTip("A free-text caption shown on the node; empty for none")
        self.label_edit.editingFinished.connect(self._commit_label)
        node_form.addRow("Label", self.label_edit)

        # what the analysis inferred
        self.shape_box = QGroupBox("Shape and cost", self)
        shape_form = QFormLayout(self.shape_box)
        self._inputs_caption = QLabel("Input", self.shape_box)
        shape_form.addRow(self._inputs_caption, self._info_label("inputs"))
        for key, caption in (("output", "Output"), ("params", "Learnable parameters"),
                             ("macs", "MACs"), ("field", "Receptive field")):
            shape_form.addRow(caption, self._info_label(key))
        self.info_labels["params"].setToolTip("Weights and biases this layer learns")
        self.info_labels["macs"].setToolTip("Multiply-accumulates for one sample")
        self.info_labels["field"].setToolTip(
            "Input pixels one output unit sees, and the step between neighbouring units")

        # the ParamSpec form
        self.params_box = QGroupBox("Parameters", self)
        self._params_layout = QVBoxLayout(self.params_box)
        self._form_host: QWidget | None = None
        self.no_params = QLabel("This layer has no parameters to set.", self.params_box)
        _soften(self.no_params)
        self._params_layout.addWidget(self.no_params)

        self.content = QWidget(self)
        content_layout = QVBoxLayout(self.content)
        content_layout.addWidget(self.title)
        content_layout.addWidget(self.help)
        content_layout.addWidget(self.node_box)
        content_layout.addWidget(self.shape_box)
        content_layout.addWidget(self.params_box)
        content_layout.addStretch(1)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.content)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.hint)
        self.stack.addWidget(self.scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.stack.setCurrentWidget(self.hint)

    def _info_label(self, key: str) -> QLabel:
        label = QLabel(self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        self.info_labels[key] = label
        return label

    # -- public API -------------------------------------------------------------------
    @property
    def node_id(self) -> str | None:
        """The id of the node shown, or None."""
        return self._node.id if self._node is not None else None

    def editor(self, name: str) -> QWidget:
        """The editor widget of param ``name`` (QSpinBox, QDoubleSpinBox, QCheckBox,
        QComboBox or QLineEdit)."""
        return self._fields[name].editor

    def field_names(self) -> list[str]:
        return list(self._fields)

    def error_text(self, name: str) -> str:
        """The message shown under param ``name``'s field, or "" when it is valid."""
        f = self._fields[name]
        return f.message.text() if f.editor.property("invalid") else ""

    def show_node(self, node: Node | None, info: NodeInfo | None = None) -> None:
        """Show ``node`` (None: the hint). Showing the same node again (same id and
        type) only updates the fields whose model value changed; nothing is emitted."""
        if node is None:
            self._node = None
            self._clear_form()
            self.stack.setCurrentWidget(self.hint)
            return
        spec = get_spec(node.type)
        same = self._node is not None and self._node.id == node.id and self._node.type == node.type
        self._node = node
        if not same:
            self._build_form(spec)
            self._label_value = None  # force the label field to refresh
        self._update_header(node, spec)
        self._update_info(info)
        self._update_values(node, force=not same)
        self.stack.setCurrentWidget(self.scroll)

    # -- building -------------------------------------------------------------------
    def _clear_form(self) -> None:
        for f in self._fields.values():
            f.editor.blockSignals(True)
        self._fields = {}
        if self._form_host is not None:
            host = self._form_host
            self._form_host = None
            host.hide()
            self._params_layout.removeWidget(host)
            host.setParent(None)
            host.deleteLater()

    def _build_form(self, spec) -> None:
        self._clear_form()
        specs = spec.params if spec is not None else ()
        self.no_params.setText("This layer has no parameters to set." if spec is not None
                               else "Unknown layer type: its parameters cannot be edited.")
        self.no_params.setVisible(not specs)
        if not specs:
            return
        host = QWidget(self.params_box)
        form = QFormLayout(host)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for param in specs:
            f = self._make_field(param, host)
            self._fields[param.name] = f
            caption = QLabel(param.name, host)
            caption.setToolTip(f.editor.toolTip())
            caption.setBuddy(f.editor)
            form.addRow(caption, f.container)
        self._form_host = host
        self._params_layout.addWidget(host)

    def _make_field(self, param: ParamSpec, parent: QWidget) -> _Field:
        container = QWidget(parent)
        box = QVBoxLayout(container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        kind = editor_kind(param)
        if kind == "spin":
            editor = _SpinBox(container)
            lo = -_INT_LIMIT if param.minimum is None else max(int(param.minimum), -_INT_LIMIT)
            hi = _INT_LIMIT if param.maximum is None else min(int(param.maximum), _INT_LIMIT)
            editor.setRange(lo, hi)
        elif kind == "double":
            editor = _DoubleSpinBox(container)
            editor.setDecimals(_FLOAT_DECIMALS)
            editor.setRange(float(param.minimum), float(param.maximum))
            span = float(param.maximum) - float(param.minimum)
            editor.setSingleStep(0.01 if span <= 1 else 0.1 if span <= 10 else 1.0)
        elif kind == "check":
            editor = QCheckBox(container)
        elif kind == "combo":
            editor = _ComboBox(container)
            editor.addItems(list(param.choices))
        else:
            editor = QLineEdit(container)
            editor.setPlaceholderText({"optional_int_or_pair": "(empty: default)",
                                       "shape": "e.g. 1, 28, 28",
                                       "float": "e.g. 1e-5"}.get(param.kind, "e.g. 3 or 3, 5"))
        editor.setObjectName(f"param_{param.name}")
        editor.setToolTip(_tooltip(param))
        editor.setProperty("invalid", False)
        message = QLabel(container)
        message.setObjectName(f"error_{param.name}")
        message.setWordWrap(True)
        message.setTextFormat(Qt.TextFormat.PlainText)
        message.setStyleSheet("color: #c62828;")
        message.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        message.hide()
        box.addWidget(editor)
        box.addWidget(message)
        f = _Field(spec=param, kind=kind, editor=editor, message=message, container=container)
        name = param.name
        if kind in ("spin", "double"):
            editor.valueChanged.connect(lambda _v, n=name: self._spin_changed(n))
            editor.editingFinished.connect(lambda n=name: self._spin_finished(n))
        elif kind == "check":
            editor.toggled.connect(lambda checked, n=name: self._commit(n, bool(checked)))
        elif kind == "combo":
            editor.currentIndexChanged.connect(lambda _i, n=name: self._combo_changed(n))
        else:
            editor.editingFinished.connect(lambda n=name: self._text_finished(n))
            editor.textEdited.connect(lambda _t, n=name: self._text_edited(n))
        return f

    # -- showing values -------------------------------------------------------------
    def _update_header(self, node: Node, spec) -> None:
        self.title.setText(f"{node.label or node.id}  ·  {node.type}")
        self.help.setText(spec.help if spec is not None else f"Unknown layer type {node.type!r}.")
        self.info_labels["id"].setText(node.id)
        self.info_labels["type"].setText(node.type + (f"  ·  {spec.category}" if spec else ""))
        label = node.label or ""
        if label != self._label_value:
            self._label_value = label
            self.label_edit.blockSignals(True)
            self.label_edit.setText(label)
            self.label_edit.blockSignals(False)

    def _update_info(self, info: NodeInfo | None) -> None:
        labels = self.info_labels
        if info is None or info.in_shapes is None:
            inputs = UNKNOWN
            self._inputs_caption.setText("Input")
        else:
            inputs = ", ".join(shape_text(s) for s in info.in_shapes) or "none"
            self._inputs_caption.setText("Inputs" if len(info.in_shapes) > 1 else "Input")
        labels["inputs"].setText(inputs)
        known = info is not None and info.out_shape is not None
        labels["output"].setText(shape_text(info.out_shape) if known else UNKNOWN)
        labels["params"].setText(f"{info.params:,}" if known else UNKNOWN)
        labels["macs"].setText(f"{info.macs:,}" if known else UNKNOWN)
        labels["field"].setText(field_text(info.field) if known else UNKNOWN)

    def _update_values(self, node: Node, force: bool) -> None:
        for name, f in self._fields.items():
            value = node.params.get(name, f.spec.default)
            if not force and _same(value, f.value):
                continue  # keep what the person is typing, valid or not
            self._set_editor(f, value)

    def _set_editor(self, f: _Field, value: Any) -> None:
        editor = f.editor
        editor.blockSignals(True)
        try:
            if f.kind == "spin":
                editor.setValue(int(value))
            elif f.kind == "double":
                editor.setValue(float(value))
            elif f.kind == "check":
                editor.setChecked(bool(value))
            elif f.kind == "combo":
                index = editor.findText(str(value))
                if index < 0:  # a value the spec does not list: show it anyway
                    editor.addItem(str(value))
                    index = editor.count() - 1
                editor.setCurrentIndex(index)
            else:
                editor.setText(format_value(f.spec, value))
                editor.setCursorPosition(0)
        finally:
            editor.blockSignals(False)
        f.value = value
        f.shown = self._spin_value(f) if f.kind in ("spin", "double") else value
        self._set_error(f, None)

    def _set_error(self, f: _Field, message: str | None) -> None:
        invalid = message is not None
        if bool(f.editor.property("invalid")) != invalid:
            f.editor.setProperty("invalid", invalid)
            f.editor.setStyleSheet(_INVALID_STYLE if invalid else "")
        f.message.setText(message or "")
        f.message.setVisible(invalid)

    # -- edits ------------------------------------------------------------------------
    def _emit(self, name: str, value: Any, continuing: bool) -> None:
        if self._node is None:
            return
        f = self._fields[name]
        f.value = f.shown = value
        self.params_edited.emit(self._node.id, {name: value}, continuing)

    def _commit(self, name: str, value: Any) -> None:
        """A committed edit from a check box, combo box or line edit."""
        f = self._fields[name]
        try:
            value = f.spec.check(value)
        except ParamError as error:
            self._set_error(f, str(error))
            return
        self._set_error(f, None)
        if not _same(value, f.value):
            self._emit(name, value, False)

    def _combo_changed(self, name: str) -> None:
        self._commit(name, self._fields[name].editor.currentText())

    def _spin_value(self, f: _Field) -> Any:
        return int(f.editor.value()) if f.kind == "spin" else float(f.editor.value())

    def _spin_changed(self, name: str) -> None:
        f = self._fields[name]
        if not f.editor.stepping:
            return  # typed text (no keyboard tracking): committed by editingFinished
        value = self._spin_value(f)
        if not _same(value, f.shown):
            self._emit(name, value, True)

    def _spin_finished(self, name: str) -> None:
        f = self._fields.get(name)
        if f is None:
            return
        value = self._spin_value(f)
        if not _same(value, f.shown):
            self._emit(name, value, False)

    def _text_finished(self, name: str) -> None:
        f = self._fields.get(name)
        if f is None:
            return
        try:
            value = parse_value(f.spec, f.editor.text())
        except ParamError as error:
            self._set_error(f, str(error))
            return
        self._set_error(f, None)
        canonical = format_value(f.spec, value)
        if f.editor.text() != canonical:  # before emitting: a refused edit is reset by the app
            f.editor.blockSignals(True)
            f.editor.setText(canonical)
            f.editor.blockSignals(False)
        if not _same(value, f.value):
            self._emit(name, value, False)

    def _text_edited(self, name: str) -> None:
        """While a field is marked invalid, clear the mark as soon as the text is valid."""
        f = self._fields[name]
        if not f.editor.property("invalid"):
            return
        try:
            parse_value(f.spec, f.editor.text())
        except ParamError as error:
            self._set_error(f, str(error))
        else:
            self._set_error(f, None)

    def _commit_label(self) -> None:
        if self._node is None:
            return
        text = self.label_edit.text().strip()
        if text != (self._label_value or ""):
            self._label_value = text
            self.label_edited.emit(self._node.id, text)


def _soften(label: QLabel) -> None:
    """Secondary text: the text colour blended towards the background (readable, unlike
    a disabled label)."""
    palette = label.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    mix = QColor.fromRgbF(*(0.65 * a + 0.35 * b
                            for a, b in zip(text.getRgbF()[:3], back.getRgbF()[:3])))
    palette.setColor(QPalette.ColorRole.WindowText, mix)
    label.setPalette(palette)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same shape (3 differs from [3, 3]; True differs from 1)."""
    return type(a) is type(b) and a == b if not isinstance(a, (list, tuple)) else (
        isinstance(b, (list, tuple)) and list(a) == list(b))
