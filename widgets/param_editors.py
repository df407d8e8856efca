"""The inspector's parameter editors: which widget edits which ParamSpec kind, and the
widgets themselves (spin boxes that ignore the wheel unless focused and tell stepping
from typing, a float spin box without trailing zeros).

- ``int``: a spin box with the spec's range;
- ``float``: a spin box (6 decimals) when the range is bounded and representable,
  otherwise (e.g. ``eps`` down to 1e-12) a line edit that takes ``1e-5`` notation;
- ``bool``: a check box; ``choice``: a combo box;
- the other kinds: a line edit (text <-> value: :meth:`ParamSpec.parse_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QSizePolicy, QSpinBox, QVBoxLayout,
    QWidget,
)

from graph_engine import ParamSpec
from widgets.theme import ERROR_STYLE, INVALID_FIELD_STYLE

_INT_LIMIT = 2**31 - 1
_FLOAT_DECIMALS = 6


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


class SpinBox(_Stepping, QSpinBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._setup()


class DoubleSpinBox(_Stepping, QDoubleSpinBox):
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


class ComboBox(_FocusedWheel, QComboBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def make_editor(param: ParamSpec, parent: QWidget) -> tuple[str, QWidget]:
    """(kind, editor) for ``param``: see :func:`editor_kind`; named ``param_<name>``,
    with the spec's help (and range) as its tooltip."""
    kind = editor_kind(param)
    if kind == "spin":
        editor = SpinBox(parent)
        lo = -_INT_LIMIT if param.minimum is None else max(int(param.minimum), -_INT_LIMIT)
        hi = _INT_LIMIT if param.maximum is None else min(int(param.maximum), _INT_LIMIT)
        editor.setRange(lo, hi)
    elif kind == "double":
        editor = DoubleSpinBox(parent)
        editor.setDecimals(_FLOAT_DECIMALS)
        editor.setRange(float(param.minimum), float(param.maximum))
        span = float(param.maximum) - float(param.minimum)
        editor.setSingleStep(0.01 if span <= 1 else 0.1 if span <= 10 else 1.0)
    elif kind == "check":
        editor = QCheckBox(parent)
    elif kind == "combo":
        editor = ComboBox(parent)
        editor.addItems(list(param.choices))
    else:
        editor = QLineEdit(parent)
        editor.setPlaceholderText({"optional_int_or_pair": "(empty: default)",
                                   "shape": "e.g. 1, 28, 28",
                                   "float": "e.g. 1e-5"}.get(param.kind, "e.g. 3 or 3, 5"))
    editor.setObjectName(f"param_{param.name}")
    editor.setToolTip(_tooltip(param))
    return kind, editor


@dataclass
class ParamField:
    """One parameter's row in a form: its editor above the message that refuses a value."""

    spec: ParamSpec
    kind: str
    editor: QWidget
    message: QLabel
    container: QWidget
    #: the canonical value the field stands for (last shown or last emitted)
    value: Any = None
    #: what a spin box showed for ``value`` (rounded to its decimals)
    shown: Any = None

    def spin_value(self) -> Any:
        """A spin box's value, as the param's type."""
        return int(self.editor.value()) if self.kind == "spin" else float(self.editor.value())

    def set_error(self, message: str | None) -> None:
        """Mark the field invalid with ``message`` under it (red border, ``invalid``
        property), or clear the mark (None)."""
        invalid = message is not None
        if bool(self.editor.property("invalid")) != invalid:
            self.editor.setProperty("invalid", invalid)
            self.editor.setStyleSheet(INVALID_FIELD_STYLE if invalid else "")
        self.message.setText(message or "")
        self.message.setVisible(invalid)


def make_field(param: ParamSpec, parent: QWidget) -> ParamField:
    """The editor of ``param`` and its (hidden) message label, in one container."""
    container = QWidget(parent)
    box = QVBoxLayout(container)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(2)
    kind, editor = make_editor(param, container)
    editor.setProperty("invalid", False)
    message = QLabel(container)
    message.setObjectName(f"error_{param.name}")
    message.setWordWrap(True)
    message.setTextFormat(Qt.TextFormat.PlainText)
    message.setStyleSheet(ERROR_STYLE)
    message.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    message.hide()
    box.addWidget(editor)
    box.addWidget(message)
    return ParamField(spec=param, kind=kind, editor=editor, message=message, container=container)


#: a stored list longer than this (a Constant's values) is shown summarised and read-only:
#: thousands of numbers on one line can be neither read nor typed (and there may be 2**24)
EDITABLE_VALUES = 64


def text_for(spec: ParamSpec, value: Any) -> tuple[str, bool]:
    """The text a line editor shows for ``value``, and whether it is a read-only summary."""
    if spec.kind == "values" and isinstance(value, (list, tuple)) and len(value) > EDITABLE_VALUES:
        return values_summary(value), True
    return ParamSpec.format_text(value), False


def values_summary(values: Sequence[float]) -> str:
    """``4,096 values, -0.41 … 0.52`` (fits the form's width; read-only)."""
    array = np.asarray(values, dtype=np.float64)
    return f"{len(array):,} values, {array.min():.4g} … {array.max():.4g}"


def same_value(a: Any, b: Any) -> bool:
    """Equal values of the same shape (3 differs from [3, 3]; True differs from 1)."""
    return type(a) is type(b) and a == b if not isinstance(a, (list, tuple)) else (
        isinstance(b, (list, tuple)) and list(a) == list(b))
