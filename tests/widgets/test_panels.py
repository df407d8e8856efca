"""The side panels driven through real key and mouse events: palette, inspector,
problems panel and summary bar (offscreen; see tests/conftest.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from graph_engine import CATEGORIES, Graph, analyze, field_text, layer_types, load_template
from widgets.inspector import HINT_TEXT, Inspector
from widgets.palette import LAYER_MIME_TYPE, LayerPalette, type_from_mime_data
from widgets.problems import ProblemsPanel
from widgets.summary_bar import SummaryBar
from tests.qt_helpers import show_widget

# Qt's offscreen platform warns once per shown top-level window that has a layout.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)",
                                       extend=True)


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture
def palette(qtbot):
    return show_widget(qtbot, LayerPalette(), 260, 700)


@pytest.fixture
def inspector(qtbot):
    return show_widget(qtbot, Inspector(), 360, 760)


@pytest.fixture
def lenet():
    graph = load_template("lenet5")
    return graph, analyze(graph)


@pytest.fixture
def conv():
    """A fresh Conv2d (kernel_size 3) fed by a 1×8×8 Input."""
    graph = Graph()
    graph.create_node("Input", node_id="image")
    graph.create_node("Conv2d", node_id="conv")
    graph.connect("image", "conv")
    return graph, analyze(graph)


def broken_graph() -> Graph:
    """LeNet-5 with its Flatten removed (a Linear fed 16×5×5) and a stray ReLU."""
    graph = load_template("lenet5")
    graph.remove_node("flatten")
    graph.connect("s4", "f5")
    graph.create_node("ReLU", node_id="stray")
    return graph


def double_click(qtbot, view, item) -> None:
    """A real double-click on ``item``: press/release, then the double-click event (Qt's
    views only honour a double-click on the index the first press hit)."""
    view.scrollToItem(item)
    center = view.visualItemRect(item).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)


def record(signal) -> list[tuple]:
    calls: list[tuple] = []
    signal.connect(lambda *args: calls.append(args))
    return calls


def type_and_enter(qtbot, editor: QLineEdit, text: str) -> None:
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return)


# -- palette ----------------------------------------------------------------------------
def test_palette_lists_every_type_under_its_category(palette):
    tree = palette.tree
    shown_categories = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    used = {s.category for s in layer_types()}
    assert shown_categories == [c for c in CATEGORIES if c in used]
    specs = layer_types()
    assert sorted(palette.type_items) == sorted(s.type for s in specs)
    for spec in specs:
        item = palette.type_items[spec.type]
        assert item.text(0) == spec.type
        assert item.parent().text(0) == spec.category
        assert item.toolTip(0) == spec.help
    assert palette.visible_types() == [s.type for s in specs]


def test_palette_search_filters_case_insensitively_on_name_and_help(qtbot, palette):
    qtbot.keyClicks(palette.search, "POOL")
    assert palette.visible_types() == ["MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                                       "AdaptiveMaxPool2d", "Mean"]  # Mean: "global average pooling"
    hidden = [c for c, item in palette.category_items.items() if item.isHidden()]
    assert hidden == [c for c in palette.category_items if c not in ("Pooling", "Tensor ops")]

    palette.search.clear()
    qtbot.keyClicks(palette.search, "residual")  # only in Add's help text
    assert palette.visible_types() == ["Add"]
    assert not palette.category_items["Merge / skip"].isHidden()

    qtbot.keyClicks(palette.search, "zzz")
    assert palette.visible_types() == []
    assert all(item.isHidden() for item in palette.category_items.values())

    palette.search.clear()
    assert len(palette.visible_types()) == len(layer_types())
    assert not any(item.isHidden() for item in palette.category_items.values())


def test_palette_enter_and_double_click_request_a_layer(qtbot, palette):
    tree = palette.tree
    calls = record(palette.add_requested)

    tree.setCurrentItem(palette.type_items["LSTM"])
    QTest.keyClick(tree, Qt.Key.Key_Return)
    assert calls == [("LSTM",)]

    double_click(qtbot, tree, palette.type_items["Dropout"])
    assert calls[-1] == ("Dropout",)
    assert len(calls) == 2

    category = palette.category_items["Activation"]
    double_click(qtbot, tree, category)
    tree.setCurrentItem(category)
    QTest.keyClick(tree, Qt.Key.Key_Return)
    assert len(calls) == 2  # category rows add nothing


def test_palette_enter_in_search_adds_the_first_match(qtbot, palette):
    calls = record(palette.add_requested)
    qtbot.keyClicks(palette.search, "gru")
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert calls == [("GRU",)]


def test_palette_drag_carries_the_type_name(palette):
    tree = palette.tree
    item = palette.type_items["Conv2d"]
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    data = tree.mimeData([item])
    assert data.formats() == [LAYER_MIME_TYPE]
    assert bytes(data.data(LAYER_MIME_TYPE).data()) == b"Conv2d"
    assert type_from_mime_data(data) == "Conv2d"
    assert tree.mimeTypes() == [LAYER_MIME_TYPE]

    category = palette.category_items["Convolution"]
    assert not category.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert tree.mimeData([category]) is None


# -- inspector --------------------------------------------------------------------------
def test_inspector_without_node_shows_a_hint(inspector):
    assert inspector.stack.currentWidget() is inspector.hint
    assert inspector.hint.text() == HINT_TEXT
    assert inspector.hint.isVisible()
    assert inspector.node_id is None


def test_inspector_builds_editors_for_conv2d(inspector, lenet):
    graph, analysis = lenet
    inspector.show_node(graph.node("c3"), analysis.info("c3"))
    kinds = {name: type(inspector.editor(name)) for name in inspector.field_names()}
    assert list(kinds) == ["out_channels", "kernel_size", "stride", "padding", "dilation",
                           "groups", "bias", "init", "init_std", "trainable", "lr_mult"]
    assert issubclass(kinds["out_channels"], QSpinBox)
    assert issubclass(kinds["init"], QComboBox) and issubclass(kinds["trainable"], QCheckBox)
    assert issubclass(kinds["groups"], QSpinBox)
    for name in ("kernel_size", "stride", "padding", "dilation"):
        assert issubclass(kinds[name], QLineEdit)
    assert issubclass(kinds["bias"], QCheckBox)

    out_channels = inspector.editor("out_channels")
    assert (out_channels.minimum(), out_channels.maximum()) == (1, 1048576)
    assert out_channels.value() == 16
    assert inspector.editor("kernel_size").text() == "5"
    assert inspector.editor("bias").isChecked()
    assert inspector.editor("kernel_size").toolTip().startswith("Filter size (int or [h, w]).")
    assert inspector.editor("bias").toolTip() == "Learn an additive bias per filter."

    labels = {key: label.text() for key, label in inspector.info_labels.items()}
    assert labels == {"id": "c3", "type": "Conv2d  ·  Convolution", "inputs": "6×14×14",
                      "output": "16×10×10", "params": "2,416", "macs": "240,000",
                      "field": "14×14 (jump 2×2)"}
    assert labels["field"] == field_text(analysis.info("c3").field)


def test_inspector_builds_editors_for_input_and_floats(inspector, lenet):
    graph, analysis = lenet
    inspector.show_node(graph.node("image"), analysis.info("image"))
    assert isinstance(inspector.editor("shape"), QLineEdit)
    assert inspector.editor("shape").text() == "1, 32, 32"
    dtype = inspector.editor("dtype")
    assert isinstance(dtype, QComboBox)
    assert [dtype.itemText(i) for i in range(dtype.count())] == ["float32", "int64"]
    assert dtype.currentText() == "float32"
    assert inspector.info_labels["inputs"].text() == "none"

    other = Graph()
    norm = other.create_node("BatchNorm2d", node_id="norm")
    drop = other.create_node("Dropout", node_id="drop")
    inspector.show_node(norm, None)
    assert isinstance(inspector.editor("eps"), QLineEdit)  # 1e-12 … 1: too small for a spin box
    assert inspector.editor("eps").text() == "1e-05"
    assert isinstance(inspector.editor("momentum"), QDoubleSpinBox)
    assert inspector.info_labels["output"].text() == "unknown"
    inspector.show_node(drop, None)
    assert isinstance(inspector.editor("p"), QDoubleSpinBox)
    assert inspector.editor("p").text() == "0.5"


def test_typing_a_kernel_size_and_enter_emits_a_committed_edit(qtbot, inspector, conv):
    graph, analysis = conv
    inspector.show_node(graph.node("conv"), analysis.info("conv"))
    calls = record(inspector.params_edited)
    type_and_enter(qtbot, inspector.editor("kernel_size"), "5")
    assert calls == [("conv", {"kernel_size": 5}, False)]
    QTest.keyClick(inspector.editor("kernel_size"), Qt.Key.Key_Return)
    assert len(calls) == 1  # unchanged value: nothing more


def test_invalid_value_is_refused_with_a_message(qtbot, inspector, conv):
    graph, analysis = conv
    inspector.show_node(graph.node("conv"), analysis.info("conv"))
    editor = inspector.editor("kernel_size")
    message = inspector.findChild(type(inspector.hint), "error_kernel_size")
    calls = record(inspector.params_edited)

    type_and_enter(qtbot, editor, "-3")
    assert calls == []
    assert editor.property("invalid") is True
    assert message.isVisible()
    assert message.text() == "kernel_size must be ≥ 1, got -3"
    assert inspector.error_text("kernel_size") == message.text()
    assert editor.text() == "-3"  # left for the person to correct

    type_and_enter(qtbot, editor, "abc")
    assert calls == []
    assert "kernel_size must be an integer or a pair of integers" in message.text()

    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, "7")  # valid again: the mark clears while typing
    assert editor.property("invalid") is False
    assert not message.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert calls == [("conv", {"kernel_size": 7}, False)]


@pytest.mark.parametrize("name, text, expected, shown", [
    ("kernel_size", "3, 5", [3, 5], "3, 5"),
    ("kernel_size", "[3, 5]", [3, 5], "3, 5"),
    ("stride", "(2,2)", [2, 2], "2, 2"),
    ("padding", "same", "same", "same"),
    ("padding", "1 2", [1, 2], "1, 2"),
])
def test_pair_and_padding_fields(qtbot, inspector, conv, name, text, expected, shown):
    graph, analysis = conv
    inspector.show_node(graph.node("conv"), analysis.info("conv"))
    calls = record(inspector.params_edited)
    type_and_enter(qtbot, inspector.editor(name), text)
    assert calls == [("conv", {name: expected}, False)]
    assert inspector.editor(name).text() == shown  # reformatted canonically


def test_optional_shape_and_float_text_fields(qtbot, inspector):
    graph = Graph()
    pool = graph.create_node("MaxPool2d", {"stride": 2}, node_id="pool")
    image = graph.create_node("Input", node_id="image")
    norm = graph.create_node("BatchNorm2d", node_id="norm")
    calls = record(inspector.params_edited)

    inspector.show_node(pool, None)
    assert inspector.editor("stride").text() == "2"
    type_and_enter(qtbot, inspector.editor("stride"), "")
    assert calls[-1] == ("pool", {"stride": None}, False)

    inspector.show_node(image, None)
    type_and_enter(qtbot, inspector.editor("shape"), "1, 28, 28")
    assert calls[-1] == ("image", {"shape": [1, 28, 28]}, False)
    type_and_enter(qtbot, inspector.editor("shape"), "784")
    assert calls[-1] == ("image", {"shape": [784]}, False)
    type_and_enter(qtbot, inspector.editor("shape"), "1, 0, 28")
    assert calls[-1] == ("image", {"shape": [784]}, False)
    assert inspector.error_text("shape") == "shape dimensions must be ≥ 1, got [1, 0, 28]"

    inspector.show_node(norm, None)
    type_and_enter(qtbot, inspector.editor("eps"), "1e-3")
    assert calls[-1] == ("norm", {"eps": 0.001}, False)
    type_and_enter(qtbot, inspector.editor("eps"), "0")
    assert inspector.error_text("eps") == "eps must be ≥ 1e-12, got 0"
    assert len(calls) == 4


def test_spin_box_steps_continue_and_typing_commits(qtbot, inspector, conv):
    graph, analysis = conv
    inspector.show_node(graph.node("conv"), analysis.info("conv"))
    spin = inspector.editor("out_channels")
    calls = record(inspector.params_edited)

    QTest.keyClick(spin, Qt.Key.Key_Up)
    QTest.keyClick(spin, Qt.Key.Key_Up)
    QTest.keyClick(spin, Qt.Key.Key_Down)
    assert calls == [("conv", {"out_channels": 17}, True), ("conv", {"out_channels": 18}, True),
                     ("conv", {"out_channels": 17}, True)]
    QTest.keyClick(spin, Qt.Key.Key_Return)  # leaving a stepped field adds nothing
    assert len(calls) == 3

    spin.selectAll()
    qtbot.keyClicks(spin, "32")
    assert len(calls) == 3  # no emission per keystroke
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert calls[3:] == [("conv", {"out_channels": 32}, False)]

    # the app applies the edits and shows the node again: nothing is emitted back
    node = replace(graph.node("conv"), params={**graph.node("conv").params, "out_channels": 32})
    with qtbot.assertNotEmitted(inspector.params_edited):
        inspector.show_node(node, None)
        QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == 32

    drop = Graph().create_node("Dropout", node_id="drop")
    inspector.show_node(drop, None)
    QTest.keyClick(inspector.editor("p"), Qt.Key.Key_Up)
    assert calls[-1] == ("drop", {"p": 0.51}, True)
    assert inspector.editor("p").text() == "0.51"


def test_check_box_and_combo_box_commit(qtbot, inspector, lenet):
    graph, analysis = lenet
    calls = record(inspector.params_edited)
    inspector.show_node(graph.node("c1"), analysis.info("c1"))
    QTest.keyClick(inspector.editor("bias"), Qt.Key.Key_Space)
    assert calls == [("c1", {"bias": False}, False)]

    inspector.show_node(graph.node("image"), analysis.info("image"))
    combo = inspector.editor("dtype")
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert calls[-1] == ("image", {"dtype": "int64"}, False)


def test_show_node_again_updates_fields_without_emitting(qtbot, inspector, lenet):
    graph, analysis = lenet
    node = graph.node("c3")
    inspector.show_node(node, analysis.info("c3"))
    spin = inspector.editor("out_channels")
    undone = replace(node, params={**node.params, "out_channels": 8, "kernel_size": [3, 5],
                                   "bias": False, "padding": "same"}, label="third conv")
    with qtbot.assertNotEmitted(inspector.params_edited), \
            qtbot.assertNotEmitted(inspector.label_edited):
        inspector.show_node(undone, analysis.info("c3"))
    assert inspector.editor("out_channels") is spin  # same node: fields kept, values updated
    assert spin.value() == 8
    assert inspector.editor("kernel_size").text() == "3, 5"
    assert inspector.editor("padding").text() == "same"
    assert not inspector.editor("bias").isChecked()
    assert inspector.label_edit.text() == "third conv"
    assert inspector.title.text().startswith("third conv")

    # an invalid entry in progress survives a refresh that does not change that param
    type_and_enter(qtbot, inspector.editor("stride"), "0")
    assert inspector.error_text("stride")
    inspector.show_node(undone, analysis.info("c3"))
    assert inspector.editor("stride").text() == "0"
    # ... and gives way to a new model value
    inspector.show_node(replace(undone, params={**undone.params, "stride": 2}), None)
    assert inspector.editor("stride").text() == "2"
    assert inspector.error_text("stride") == ""

    inspector.show_node(graph.node("f5"), analysis.info("f5"))
    assert inspector.field_names() == ["out_features", "bias", "init", "init_std", "trainable", "lr_mult"]
    inspector.show_node(None, None)
    assert inspector.stack.currentWidget() is inspector.hint


def test_label_edit_emits_label_edited(qtbot, inspector, lenet):
    graph, analysis = lenet
    inspector.show_node(graph.node("c3"), analysis.info("c3"))
    calls = record(inspector.label_edited)
    type_and_enter(qtbot, inspector.label_edit, "  feature maps ")
    assert calls == [("c3", "feature maps")]
    QTest.keyClick(inspector.label_edit, Qt.Key.Key_Return)
    assert len(calls) == 1


def test_layer_without_params(inspector, lenet):
    graph, analysis = lenet
    inspector.show_node(graph.node("tanh1"), analysis.info("tanh1"))
    assert inspector.field_names() == []
    assert inspector.no_params.isVisible()


# -- problems panel ---------------------------------------------------------------------
def test_problems_panel_counts_and_intents(qtbot):
    panel = show_widget(qtbot, ProblemsPanel(), 720, 240)
    assert panel.header.text() == "No problems"

    diagnostics = analyze(broken_graph()).diagnostics
    panel.set_diagnostics(diagnostics)
    assert panel.header.text() == "2 errors, 1 warning"
    assert panel.list.topLevelItemCount() == 3
    rows = [(panel.item(r).text(0), panel.item(r).text(1)) for r in range(3)]
    assert rows == [("Error", "stray"), ("Error", "f5"), ("Warning", "stray")]
    assert "Linear needs flat (features) input" in panel.item(1).text(2)
    assert list(panel.fix_buttons) == [1]
    button = panel.fix_buttons[1]
    assert button.text() == "Fix: Insert a Flatten"
    assert button.isVisible()

    activated = record(panel.node_activated)
    fixes = record(panel.fix_requested)
    list_view = panel.list
    qtbot.mouseClick(list_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=list_view.visualItemRect(panel.item(1)).center())
    assert activated == [("f5",)]
    list_view.setCurrentItem(panel.item(2))
    QTest.keyClick(list_view, Qt.Key.Key_Return)
    assert activated[-1] == ("stray",)

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert len(fixes) == 1
    diagnostic = fixes[0][0]
    assert diagnostic is panel.diagnostics[1]
    assert diagnostic.fix.layer_type == "Flatten" and diagnostic.fix.node_id == "f5"

    panel.set_diagnostics(diagnostics[:1])
    assert panel.header.text() == "1 error"
    assert panel.fix_buttons == {}
    panel.set_diagnostics([])
    assert panel.header.text() == "No problems"
    assert panel.list.topLevelItemCount() == 0


# -- summary bar ------------------------------------------------------------------------
def test_summary_bar_text(qtbot):
    bar = SummaryBar()
    qtbot.addWidget(bar)
    assert bar.text() == "0 parameters · 0 MACs"
    bar.set_summary(62250, 937216, "conv3", "10×10 (jump 2×2)")
    assert bar.text() == ("62,250 parameters · 937,216 MACs · "
                          "conv3: receptive field 10×10 (jump 2×2)")
    assert bar.label.text() == bar.text()
    bar.set_summary(1, 1, "f5", "-")
    assert bar.text() == "1 parameter · 1 MAC"
    bar.set_summary(61706, 416520, None, None)
    assert bar.text() == "61,706 parameters · 416,520 MACs"


# -- rendering ----------------------------------------------------------------------------
def test_panels_render_with_real_data(qtbot, tmp_path, lenet):
    graph, analysis = lenet
    palette = LayerPalette()
    inspector = Inspector()
    problems = ProblemsPanel()
    bar = SummaryBar()
    inspector.show_node(graph.node("c3"), analysis.info("c3"))
    problems.set_diagnostics(analyze(broken_graph()).diagnostics)
    bar.set_summary(analysis.total_params, analysis.total_macs, "c3",
                    field_text(analysis.info("c3").field))
    for widget, size in ((palette, (260, 640)), (inspector, (340, 720)),
                         (problems, (720, 200)), (bar, (560, 24))):
        show_widget(qtbot, widget, *size)
        image = widget.grab().toImage()
        path = tmp_path / f"{type(widget).__name__}.png"
        assert image.save(str(path))
        assert image.width() == size[0] and path.stat().st_size > 500
        # not blank: more than one colour
        colours = {image.pixel(QPoint(x, y)) for x in range(0, image.width(), 7)
                   for y in range(0, image.height(), 7)}
        assert len(colours) > 2


def test_an_edit_the_app_refuses_is_reset_by_show_node(qtbot, inspector, conv):
    """The app answers a refused edit by showing the unchanged node again."""
    graph, analysis = conv
    node = graph.node("conv")
    inspector.show_node(node, analysis.info("conv"))
    inspector.params_edited.connect(lambda *args: inspector.show_node(node, None))
    type_and_enter(qtbot, inspector.editor("kernel_size"), "4, 4")
    assert inspector.editor("kernel_size").text() == "3"
    QTest.keyClick(inspector.editor("out_channels"), Qt.Key.Key_Up)
    assert inspector.editor("out_channels").value() == 16


def test_a_large_constant_is_summarised_read_only_and_a_small_one_stays_editable(qtbot, inspector):
    """A Constant's stored tensor (thousands of numbers after an import) is one summary line
    that no key edits; a handful of numbers is typed like any list."""
    graph = Graph()
    values = [float(v) for v in range(-1000, 1000)]
    graph.create_node("Constant", {"shape": [2000], "values": values}, node_id="table")
    graph.create_node("Constant", {"shape": [3], "values": [0.5, 1.0, 2.0]}, node_id="small")
    calls = record(inspector.params_edited)
    inspector.show_node(graph.node("table"), analyze(graph).info("table"))
    editor = inspector.editor("values")
    assert editor.isReadOnly() and editor.text() == "2,000 values, -1000 … 999"
    qtbot.keyClicks(editor, "7")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert calls == [] and not editor.property("invalid") and editor.text().startswith("2,000 values")
    inspector.show_node(graph.node("small"), analyze(graph).info("small"))
    editor = inspector.editor("values")
    assert not editor.isReadOnly() and editor.text() == "0.5, 1.0, 2.0"
    type_and_enter(qtbot, editor, "0.5, 1, 3")
    assert calls == [("small", {"values": [0.5, 1.0, 3.0]}, False)]
