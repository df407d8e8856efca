"""Editing the block structure (issue 14): make a block of a selection, explode a use, make a
use unique — each one undo step that restores the file byte for byte, and none changes what
the network computes."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from app import commands
from app.document import Document
from graph_engine import analyze, compile_graph, dumps, load_template
from graph_engine.blocks import BlockError, explode, make_block, make_unique

BLOCK = ["s1b1_conv1", "s1b1_bn1", "s1b1_relu1", "s1b1_conv2", "s1b1_bn2", "s1b1_add", "s1b1_relu2"]


def _shapes(analysis):
    return {(node_id, port): shape for node_id, info in analysis.nodes.items()
            for port, shape in enumerate(info.out_shapes or ())}


def _outputs(graph, state=None):
    torch.manual_seed(0)
    module = compile_graph(graph, device="cpu").eval()
    if state is not None:
        module.load_state_dict(state)
    x = torch.randn(2, *analyze(graph).info("image").out_shape)
    with torch.no_grad():
        return module, module(x)


def test_make_block_is_one_step_computes_the_same_and_undoes_byte_for_byte():
    document = Document(load_template("resnet_style"))
    graph = document.graph
    before = dumps(graph)
    reference, expected = _outputs(graph)
    rewrite = make_block(graph, BLOCK, "Residual", _shapes(document.analysis))
    document.push(commands.block_rewrite(graph, rewrite, "Make block Residual"))
    assert "Residual" in graph.blocks and "residual" in graph and not any(n in graph for n in BLOCK)
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    assert analysis.total_params == analyze(load_template("resnet_style")).total_params
    # the same weights under the nested names give the same outputs
    state = {(f"residual.{k}" if k.startswith("s1b1_") else k): v for k, v in reference.state_dict().items()}
    _module, got = _outputs(graph, state)
    assert_close(got, expected, atol=0, rtol=0)
    document.undo_stack.undo()
    assert dumps(graph) == before
    document.undo_stack.redo()
    assert "residual" in graph


def test_explode_and_make_unique_undo_byte_for_byte():
    document = Document(load_template("resnet_style"))
    graph = document.graph
    document.push(commands.block_rewrite(graph, make_block(graph, BLOCK, "Residual",
                                                           _shapes(document.analysis)), "Make block"))
    made = dumps(graph)
    document.push(commands.block_rewrite(graph, make_unique(graph, "residual"), "Make unique"))
    assert graph.node("residual").type == "Residual_2" and set(graph.blocks) == {"Residual", "Residual_2"}
    assert analyze(graph).ok
    document.undo_stack.undo()
    assert dumps(graph) == made
    params = analyze(graph).total_params
    document.push(commands.block_rewrite(graph, explode(graph, "residual"), "Explode"))
    assert "residual" not in graph and "residual_s1b1_conv1" in graph
    assert analyze(graph).ok and analyze(graph).total_params == params
    document.undo_stack.undo()
    assert dumps(graph) == made


def test_a_block_cannot_take_the_graphs_ends_or_a_taken_name():
    graph = load_template("resnet_style")
    shapes = _shapes(analyze(graph))
    with pytest.raises(BlockError, match="Inputs or Outputs"):
        make_block(graph, ["image", "stem"], "Front", shapes)
    with pytest.raises(BlockError, match="cannot name a new block"):
        make_block(graph, BLOCK, "Conv2d", shapes)


def test_edit_make_block_in_the_window_makes_a_block_of_the_selection_and_undo_restores(qtbot, monkeypatch,
                                                                                       tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    monkeypatch.setenv("ROSENBLATT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(load_template("resnet_style"), autosave=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    before = dumps(window.document.graph)
    window.scene.select_ids(BLOCK)
    (make,) = [a for a in window.actions() if a.text() == "&Make block"]
    assert make.shortcut().toString() == "Ctrl+G"
    make.trigger()
    graph = window.document.graph
    assert "Block1" in graph.blocks and "block1" in graph
    assert window.selected == ["block1"]
    assert window.scene.node_item("block1") is not None and window.document.analysis.ok
    window.document.undo_stack.undo()
    assert dumps(window.document.graph) == before
    window.training.shutdown(0)
    window.document.undo_stack.setClean()
