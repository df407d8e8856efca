"""The inspector: one node's identity, inferred shapes and costs, and its parameters.

The parameter form is built from the node type's ``ParamSpec``s in the registry, so
a new layer type needs no change here. The inspector never mutates the model: a
valid edit emits :attr:`Inspector.params_edited` (or :attr:`Inspector.label_edited`)
and the app turns it into an undoable command, then calls :meth:`Inspector.show_node`
again with the changed node, which updates the fields without emitting anything.

The editor of each ParamSpec kind is in :mod:`widgets.param_editors`; typed text
becomes a value through :meth:`ParamSpec.parse_text`.

Every value is checked with ``ParamSpec.check``; an invalid one is refused in its
field (red border, ``invalid`` property, the ParamError text under the field) and
nothing is emitted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFormLayout, QFrame, QGroupBox, QLabel, QLineEdit, QScrollArea, QStackedWidget, QVBoxLayout,
    QWidget,
)

from graph_engine import LayerSpec, NodeInfo, ParamError, ParamSpec, field_text, get_spec, shape_text
from graph_engine.block_face import BLOCK_CATEGORY
from graph_engine.blocks import is_ref
from graph_engine.model import Node
from widgets.param_editors import ParamField, make_field, same_value, text_for
from widgets.theme import soften

__all__ = ["HINT_TEXT", "Inspector"]

HINT_TEXT = "Select a node to see its parameters"
UNKNOWN = "unknown"


def _undo_key(event: QKeyEvent) -> bool:
    """Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y (the window's undo and redo)."""
    return (event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)
            or event.keyCombination() == QKeySequence("Ctrl+Y")[0])


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
    #: (node id, param name or "type"): the context action "Vary this…" on a param or the type
    vary_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._node: Node | None = None
        self._fields: dict[str, ParamField] = {}
        self._label_value = ""

        self.hint = QLabel(HINT_TEXT, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        soften(self.hint)

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
        soften(self.help)

        # node identity
        self.node_box = QGroupBox("Node", self)
        node_form = QFormLayout(self.node_box)
        self.info_labels: dict[str, QLabel] = {}
        for key, caption in (("id", "Id"), ("type", "Type")):
            node_form.addRow(caption, self._info_label(key))
        self._offer_vary(self.info_labels["type"], "type")
        self.label_edit = QLineEdit(self.node_box)
        self.label_edit.setPlaceholderText("(none)")
        self.label_edit.setToolTip("A free-text caption shown on the node; empty for none")
        self.label_edit.editingFinished.connect(self._commit_label)
        self.label_edit.installEventFilter(self)
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
        soften(self.no_params)
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

    def show_node(self, node: Node | None, info: NodeInfo | None = None, spec: LayerSpec | None = None) -> None:
        """Show ``node`` (None: the hint). Showing the same node again (same id and
        type) only updates the fields whose model value changed; nothing is emitted.
        ``spec``: the type's declaration when the registry has none (a block use: its
        definition's declared params make the form)."""
        if node is None:
            self._node = None
            self._clear_form()
            self.stack.setCurrentWidget(self.hint)
            return
        spec = spec or get_spec(node.type)
        same = (self._node is not None and self._node.id == node.id and self._node.type == node.type
                and list(self._fields) == [p.name for p in (spec.params if spec is not None else ())])
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
            self._offer_vary(caption, param.name)
            form.addRow(caption, f.container)
        self._form_host = host
        self._params_layout.addWidget(host)

    def _offer_vary(self, widget: QWidget, key: str) -> None:
        """Right-click → "Vary this…": mark the value for a sweep."""
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        action = QAction("Vary this…", widget)
        action.triggered.connect(lambda _checked=False: self._node and self.vary_requested.emit(self._node.id, key))
        widget.addAction(action)

    def _make_field(self, param: ParamSpec, parent: QWidget) -> ParamField:
        f = make_field(param, parent)
        kind, editor, name = f.kind, f.editor, param.name
        editor.installEventFilter(self)
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

    # -- keys in a field: Escape reverts, Ctrl+Z goes to the document unless typing ---
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape and kind == QEvent.Type.KeyPress:
                if self._revert(watched):
                    return True
            elif _undo_key(event) and not self._typing(watched):
                # nothing typed here: the field lets the shortcut through to the document's undo
                event.ignore()
                return kind == QEvent.Type.ShortcutOverride
        return super().eventFilter(watched, event)

    def _field_of(self, widget: QObject) -> ParamField | None:
        return next((f for f in self._fields.values() if f.editor is widget), None)

    def _typing(self, widget: QObject) -> bool:
        """Whether the field holds typed text that differs from the node's value."""
        if widget is self.label_edit:
            return self.label_edit.text().strip() != (self._label_value or "")
        f = self._field_of(widget)
        if f is None:
            return False
        if f.kind in ("spin", "double"):
            return f.editor.cleanText() != f.editor.textFromValue(f.shown)
        if f.kind == "text":
            return not f.editor.isReadOnly() and f.editor.text() != ParamSpec.format_text(f.value)
        return False

    def _revert(self, widget: QObject) -> bool:
        """Escape: put back the value the node has (a refused or half-typed value goes)."""
        if widget is self.label_edit:
            self.label_edit.blockSignals(True)
            self.label_edit.setText(self._label_value or "")
            self.label_edit.blockSignals(False)
            return True
        f = self._field_of(widget)
        if f is None or self._node is None:
            return False
        self._set_editor(f, self._node.params.get(f.spec.name, f.spec.default))
        return True

    # -- showing values -------------------------------------------------------------
    def _update_header(self, node: Node, spec) -> None:
        self.title.setText(f"{node.label or node.id}  ·  {node.type}")
        self.help.setText(spec.help if spec is not None else f"Unknown layer type {node.type!r}.")
        self.info_labels["id"].setText(node.id)
        block = spec is not None and spec.category == BLOCK_CATEGORY
        self.info_labels["type"].setText(f"{node.type}  ·  block definition" if block
                                         else node.type + (f"  ·  {spec.category}" if spec else ""))
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
            inputs = ", ".join(shape_text(s) if s is not None else "not connected" for s in info.in_shapes) or "none"
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
            if not force and same_value(value, f.value):
                continue  # keep what the person is typing, valid or not
            self._set_editor(f, value)

    def _set_editor(self, f: ParamField, value: Any) -> None:
        editor = f.editor
        referred = is_ref(value)  # inside a block definition: the use's value of a block param
        editor.setEnabled(not referred)
        editor.blockSignals(True)
        try:
            if referred:
                pass
            elif f.kind == "spin":
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
                text, summary = text_for(f.spec, value)
                editor.setReadOnly(summary)  # a stored tensor: changed by an import, not typed
                editor.setText(text)
                editor.setCursorPosition(0)
        finally:
            editor.blockSignals(False)
        f.value = value
        f.shown = f.spin_value() if f.kind in ("spin", "double") and not referred else value
        f.set_error(None)
        if referred:
            f.message.setText(f"= block param {value['$param']!r} (each use sets it)")
            f.message.setVisible(True)

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
            f.set_error(str(error))
            return
        f.set_error(None)
        if not same_value(value, f.value):
            self._emit(name, value, False)

    def _combo_changed(self, name: str) -> None:
        self._commit(name, self._fields[name].editor.currentText())

    def _spin_changed(self, name: str) -> None:
        f = self._fields[name]
        if not f.editor.stepping:
            return  # typed text (no keyboard tracking): committed by editingFinished
        value = f.spin_value()
        if not same_value(value, f.shown):
            self._emit(name, value, True)

    def _spin_finished(self, name: str) -> None:
        f = self._fields.get(name)
        if f is None:
            return
        value = f.spin_value()
        if not same_value(value, f.shown):
            self._emit(name, value, False)

    def _text_finished(self, name: str) -> None:
        f = self._fields.get(name)
        if f is None or f.editor.isReadOnly():
            return
        try:
            value = f.spec.parse_text(f.editor.text())
        except ParamError as error:
            f.set_error(str(error))
            return
        f.set_error(None)
        canonical = ParamSpec.format_text(value)
        if f.editor.text() != canonical:  # before emitting: a refused edit is reset by the app
            f.editor.blockSignals(True)
            f.editor.setText(canonical)
            f.editor.blockSignals(False)
        if not same_value(value, f.value):
            self._emit(name, value, False)

    def _text_edited(self, name: str) -> None:
        """While a field is marked invalid, clear the mark as soon as the text is valid."""
        f = self._fields[name]
        if not f.editor.property("invalid"):
            return
        try:
            f.spec.parse_text(f.editor.text())
        except ParamError as error:
            f.set_error(str(error))
        else:
            f.set_error(None)

    def _commit_label(self) -> None:
        if self._node is None:
            return
        text = self.label_edit.text().strip()
        if text != (self._label_value or ""):
            self._label_value = text
            self.label_edited.emit(self._node.id, text)
