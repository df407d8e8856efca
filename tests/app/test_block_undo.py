"""Property: any sequence of edits made inside a block's definition (params, labels, moves,
deletions, additions) is one undo step each on the document; undoing them all gives the file
back byte for byte, redoing them all gives the edited file again, and every use follows."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from app.block_scope import BlockNavigator
from app.controller import EditorController
from app.document import Document
from graph_engine import dumps
from graph_engine.blocks import expand
from tests.app.test_block_canvas import two_uses

STEPS = st.lists(st.sampled_from(["kernel", "label", "move", "delete_relu", "add_dropout", "bias"]),
                 min_size=1, max_size=6)


def _apply(controller: EditorController, step: str, index: int) -> None:
    graph = controller.graph
    if step == "kernel" and "conv2" in graph:
        size = 1 + 2 * (index % 2)
        controller.edit_params("conv2", {"kernel_size": size, "padding": size // 2})
    elif step == "label" and "conv1" in graph:
        controller.set_label("conv1", f"first {index}")
    elif step == "move":
        node = next(iter(graph.nodes))
        controller.move_nodes({node: ((0.0, 0.0), (10.0 * index + 5.0, 3.0))})
    elif step == "delete_relu" and "relu" in graph:
        controller.delete_and_bridge("relu")
    elif step == "add_dropout" and "conv1" in graph:
        controller.add_layer("Dropout", None, "conv1")
    elif step == "bias" and "conv2" in graph:
        controller.edit_params("conv2", {"bias": bool(index % 2)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_edits_inside_a_block_undo_byte_for_byte(qapp, steps):
    document = Document(two_uses())
    controller = EditorController(document)
    controller.navigator = BlockNavigator(lambda: document.graph)
    assert controller.navigator.enter("Residual", "block1")
    original = dumps(document.graph)
    for index, step in enumerate(steps):
        _apply(controller, step, index)
        assert controller.graph.nodes == document.graph.blocks["Residual"].graph.nodes  # the view follows
    edited = dumps(document.graph)
    assert document.undo_stack.count() <= len(steps)
    while document.undo_stack.canUndo():
        document.undo_stack.undo()
    assert dumps(document.graph) == original
    assert controller.graph.nodes == document.graph.blocks["Residual"].graph.nodes
    while document.undo_stack.canRedo():
        document.undo_stack.redo()
    assert dumps(document.graph) == edited
    # both uses are built from the one definition, and the edited network is valid
    flat = expand(document.graph).flat
    for node_id in document.graph.blocks["Residual"].graph.nodes:
        assert f"block1.{node_id}" in flat and f"block2.{node_id}" in flat
    assert document.analysis.ok, document.analysis.diagnostics
    controller.navigator.forget()
