"""The controller: intents become one command each; cycles and bad values are refused."""

from app.controller import EditorController
from app.document import Document
from graph_engine import Edge, dumps, load_template


def make(template="mlp"):
    document = Document(load_template(template))
    controller = EditorController(document)
    messages, highlights = [], []
    controller.message.connect(messages.append)
    controller.highlight.connect(highlights.append)
    return document, controller, messages, highlights


def test_a_connection_that_closes_a_cycle_is_refused_and_named(qapp):
    document, controller, messages, highlights = make()
    before = dumps(document.graph)
    assert not controller.connect_ports("relu2", "hidden1", 0)
    assert dumps(document.graph) == before and document.undo_stack.count() == 0
    assert highlights[-1] == ["hidden1", "relu1", "hidden2", "relu2"]
    assert messages[-1] == ("Refused: connecting relu2 → hidden1 would close the cycle "
                            "hidden1 → relu1 → hidden2 → relu2 → hidden1")


def test_dropping_on_a_used_port_reconnects_in_one_step(qapp):
    document, controller, _, _ = make()
    assert controller.connect_ports("flatten", "hidden2", 0)
    assert Edge("flatten", "hidden2") in document.graph.edges
    assert Edge("relu1", "hidden2") not in document.graph.edges
    document.undo_stack.undo()
    assert Edge("relu1", "hidden2") in document.graph.edges


def test_add_after_wires_the_new_node(qapp):
    document, controller, _, _ = make()
    node_id = controller.add_layer("Dropout", after="relu2")
    assert Edge("relu2", node_id) in document.graph.edges
    x, y = document.graph.node("relu2").position
    assert document.graph.node(node_id).position == (x + 240.0, y)


def test_refused_parameter_value_reports_and_changes_nothing(qapp):
    document, controller, messages, _ = make()
    assert not controller.edit_params("hidden1", {"out_features": 0})
    assert messages[-1] == "hidden1: out_features must be ≥ 1, got 0"
    assert document.undo_stack.count() == 0


def test_fix_and_layout_and_duplicate_are_single_steps(qapp):
    document, controller, _, _ = make()
    controller.delete(["flatten"])
    controller.connect_ports("pixels", "hidden1", 0)
    (problem,) = document.analysis.errors
    controller.apply_fix(problem)
    assert document.analysis.ok
    count = document.undo_stack.count()
    controller.auto_layout()
    new_ids = controller.duplicate(["hidden1", "relu1"])
    assert len(new_ids) == 2 and Edge(new_ids[0], new_ids[1]) in document.graph.edges
    assert document.undo_stack.count() == count + 2


def test_pasting_foreign_json_is_a_message_and_layout_twice_is_one_step(qapp):
    document, controller, messages, _ = make()
    for text in ('{"nodes": [{}], "edges": []}', '{"nodes": {}, "edges": []}', "[1, 2]", "hello"):
        assert controller.paste(text) == []
        assert messages[-1].startswith("the clipboard holds no Rosenblatt nodes")
    controller.auto_layout()  # the template is laid out already: nothing to undo
    assert document.undo_stack.count() == 0
    controller.move_nodes({"relu1": ((0.0, 0.0), (5.0, 900.0))})
    controller.auto_layout()
    controller.auto_layout()
    assert document.undo_stack.count() == 2
