"""The palette's blocks (issue 14): the document's definitions beside the layers (drag one
onto the canvas to add a use), block libraries (graph files; dropping a library block
imports it), and File → Import blocks — each one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.main_window import MainWindow
from graph_engine import analyze, dumps, load_graph, save_graph
from graph_engine.block_library import import_definitions
from graph_engine.blocks import BlockDefinition
from graph_engine.params import ParamSpec
from tests.app.test_block_canvas import two_uses
from tests.app.test_main_window import drop_mime
from widgets.palette import BLOCKS_GROUP, LIBRARY_PREFIX


@pytest.fixture
def window(qtbot):
    window = MainWindow(two_uses(), autosave=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()


def palette_drop(window, payload: str) -> None:
    """Drag the palette's row for ``payload`` onto the middle of the canvas (its own mime data)."""
    palette = window.palette
    mime = palette.tree.mimeData([palette.type_items[payload]])
    drop_mime(window.view.viewport(), window.view.viewport().rect().center(), mime)


def test_the_palette_lists_the_documents_blocks_and_a_drop_adds_a_use(window):
    palette = window.palette
    group = palette.category_items[BLOCKS_GROUP]
    assert [group.child(i).text(0) for i in range(group.childCount())] == ["Residual"]
    before = dumps(window.document.graph)
    palette_drop(window, "Residual")
    (use,) = [n for n in window.document.graph if n.type == "Residual" and n.id not in ("block1", "block2")]
    assert use.params == {"channels": 8}  # the block params' defaults
    assert window.scene.node_item(use.id).is_block_use
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dumps(window.document.graph) == before
    # a block made in the window appears in the palette
    window.controller.make_block(["flat"])
    assert palette.category_items[BLOCKS_GROUP].childCount() == 2


def test_a_library_block_dropped_is_imported_with_its_use_in_one_step(window):
    palette = window.palette
    title = f"{LIBRARY_PREFIX}classic.json"
    group = palette.category_items[title]
    names = [group.child(i).text(0) for i in range(group.childCount())]
    assert {"VGGStage", "BasicBlock", "DoubleConv"} <= set(names)
    before = dumps(window.document.graph)
    payload = next(p for p, item in palette.type_items.items() if item.parent() is group and item.text(0) == "BasicBlock")
    palette_drop(window, payload)
    graph = window.document.graph
    assert "BasicBlock" in graph.blocks and any(n.type == "BasicBlock" for n in graph)
    window.document.undo_stack.undo()
    assert dumps(graph) == before


def test_import_blocks_from_a_file_renames_a_clash_and_is_one_step(window, tmp_path):
    graph = window.document.graph
    before = dumps(graph)
    save_graph(two_uses(), tmp_path / "same.json")
    assert window.controller.import_blocks(str(tmp_path / "same.json")) == []  # identical: nothing to add
    assert dumps(graph) == before and not window.document.dirty
    # a different definition of the same name comes in as Residual_2
    library = two_uses()
    definition = library.blocks["Residual"]
    library.set_block(BlockDefinition("Residual", definition.graph, (ParamSpec("channels", "int", 3, "", minimum=1),)))
    save_graph(library, tmp_path / "clash.json")
    assert window.controller.import_blocks(str(tmp_path / "clash.json")) == ["Residual_2"]
    assert graph.blocks["Residual_2"].params[0].default == 3 and analyze(graph).ok
    assert window.palette.category_items[BLOCKS_GROUP].childCount() == 2
    window.document.undo_stack.undo()
    assert dumps(graph) == before
    # a file that is not a graph: one line, nothing changes
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert window.controller.import_blocks(str(tmp_path / "bad.json")) == []
    assert dumps(graph) == before


def test_imported_definitions_bring_the_blocks_they_use():
    from tests.engine.test_blocks import basic_block
    from graph_engine import Graph, Node

    source = Graph("lib")
    source.set_block(basic_block())
    outer = Graph("Stage", template=True)
    outer.add_node(Node("x", "Input", {"shape": [8, 6, 6]}))
    outer.add_node(Node("b", "Basic", {}))
    outer.add_node(Node("out", "Output", {}))
    outer.connect("x", "b")
    outer.connect("b", "out")
    source.set_block(BlockDefinition("Stage", outer))
    target = Graph("t")
    target.set_block(BlockDefinition("Basic", basic_block().graph))  # a different Basic (no params)
    added, renamed = import_definitions(target, source, ["Stage"])
    assert renamed == {"Basic": "Basic_2", "Stage": "Stage"}
    assert [d.name for d in added] == ["Basic_2", "Stage"]
    assert added[1].graph.node("b").type == "Basic_2"
