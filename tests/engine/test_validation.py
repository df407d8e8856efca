"""Validation: structure and shape diagnostics, with fixes that really fix."""

from graph_engine import Graph, analyze, validate
from tests.engine.helpers import chain


def codes(graph):
    return [(d.severity, d.code, d.node_ids) for d in validate(graph)]


def apply_fix(graph, fix):
    """Insert the fix's layer on the edge into (fix.node_id, fix.port), as the editor will."""
    edge = next(e for e in graph.in_edges(fix.node_id) if e.port == fix.port)
    graph.remove_edge(edge)
    inserted = graph.create_node(fix.layer_type, fix.params)
    graph.connect(edge.source, inserted.id)
    graph.connect(inserted.id, fix.node_id, fix.port)


def test_seed_example_conv_shapes_and_parameter_count():
    graph = chain(("image", "Input", {"shape": [3, 32, 32]}),
                  ("conv", "Conv2d", {"out_channels": 10, "kernel_size": 5, "stride": 1, "padding": 2}),
                  ("out", "Output", {}))
    analysis = analyze(graph)
    assert analysis.ok
    assert analysis.info("conv").out_shape == (10, 32, 32)
    assert analysis.info("conv").params == 760
    assert analysis.total_params == 760


def test_cycle_is_named_in_order():
    graph = chain(("x", "Input", {"shape": [4]}), ("a", "Linear", {}), ("b", "ReLU", {}),
                  ("c", "Linear", {}), ("out", "Output", {}))
    graph.connect("c", "a", 1)  # a second input into a Linear closing a loop
    cycle = [d for d in validate(graph) if d.code == "cycle"]
    assert len(cycle) == 1
    assert cycle[0].node_ids == ("a", "b", "c")
    assert "a → b → c → a" in cycle[0].message


def test_self_loop_is_a_cycle():
    graph = chain(("x", "Input", {"shape": [4]}), ("a", "Add", {}), ("out", "Output", {}))
    graph.connect("a", "a", 1)
    assert ("error", "cycle", ("a",)) in codes(graph)


def test_missing_and_extra_inputs_and_outputs():
    lonely = Graph()
    lonely.create_node("ReLU", node_id="r")
    found = {d.code for d in validate(lonely)}
    assert {"no-input", "no-output", "unconnected"} <= found
    two = chain(("a", "Input", {"shape": [4]}), ("out", "Output", {}))
    two.create_node("Input", {"shape": [4]}, node_id="b")
    found = validate(two)  # several Inputs are allowed (format v2); an unused one does nothing
    assert [(d.code, d.node_ids) for d in found] == [("off-path", ("b",))]


def test_port_problems():
    graph = chain(("x", "Input", {"shape": [4]}), ("r", "ReLU", {}), ("out", "Output", {}))
    graph.create_node("Tanh", node_id="t")
    graph.connect("x", "t")
    graph.connect("t", "r")          # a second edge into r's only port
    graph.connect("x", "out", 1)     # Output has one port
    graph.connect("out", "t", 0)     # Output has no output port (and makes t crowded)
    found = codes(graph)
    assert ("error", "crowded-port", ("r",)) in found
    assert ("error", "no-such-port", ("out",)) in found
    assert ("error", "no-output", ("out",)) in found


def test_add_needs_its_ports_filled_in_order():
    graph = chain(("x", "Input", {"shape": [4]}), ("add", "Add", {}), ("out", "Output", {}))
    assert ("error", "unconnected", ("add",)) in codes(graph)
    graph.connect("x", "add", 2)
    messages = [d.message for d in validate(graph) if d.code == "unconnected"]
    assert messages == ["input port 1 is not connected"]
    graph.connect("x", "add", 1)
    assert analyze(graph).ok


def test_off_path_nodes_are_warnings_and_unknown_types_errors():
    graph = chain(("x", "Input", {"shape": [4]}), ("out", "Output", {}))
    graph.create_node("ReLU", node_id="dangling")
    graph.connect("x", "dangling")
    graph.create_node("Frobnicate", {"any": 1}, node_id="mystery")
    found = codes(graph)
    assert ("warning", "off-path", ("dangling",)) in found
    assert ("error", "unknown-type", ("mystery",)) in found


def test_linear_on_an_image_suggests_a_flatten_that_fixes_it():
    graph = chain(("image", "Input", {"shape": [16, 4, 4]}), ("fc", "Linear", {"out_features": 10}),
                  ("out", "Output", {}))
    (problem,) = analyze(graph).errors
    assert problem.node_ids == ("fc",)
    assert "16×4×4" in problem.message
    assert problem.fix.layer_type == "Flatten" and problem.fix.node_id == "fc"
    apply_fix(graph, problem.fix)
    analysis = analyze(graph)
    assert analysis.ok and analysis.info("fc").in_shapes == ((256,),)


def test_add_of_mismatched_channels_suggests_a_projection_that_fixes_it():
    graph = Graph()
    graph.create_node("Input", {"shape": [3, 16, 16]}, node_id="image")
    graph.create_node("Conv2d", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1},
                      node_id="conv")
    graph.create_node("Add", node_id="add")
    graph.create_node("Output", node_id="out")
    graph.connect("image", "conv")
    graph.connect("conv", "add", 0)
    graph.connect("image", "add", 1)
    graph.connect("add", "out")
    (problem,) = analyze(graph).errors
    assert "input 1 is 3×16×16 but input 0 is 32×8×8" in problem.message
    assert problem.fix.layer_type == "Conv2d" and problem.fix.port == 1
    assert problem.fix.params == {"out_channels": 32, "kernel_size": 1, "stride": 2}
    apply_fix(graph, problem.fix)
    assert analyze(graph).ok


def test_kernel_larger_than_padded_input():
    graph = chain(("image", "Input", {"shape": [1, 4, 4]}), ("conv", "Conv2d", {"kernel_size": 7}),
                  ("out", "Output", {}))
    (problem,) = analyze(graph).errors
    assert problem.message == "Conv2d: kernel 7×7 is larger than the padded input 4×4"
    graph.set_params("conv", {"padding": 2})
    assert analyze(graph).ok


def test_embedding_fed_floats_and_conv_fed_indices():
    graph = chain(("tokens", "Input", {"shape": [10]}), ("embed", "Embedding", {}), ("out", "Output", {}))
    (problem,) = analyze(graph).errors
    assert "needs int64 token indices" in problem.message
    graph.set_params("tokens", {"dtype": "int64"})
    assert analyze(graph).ok
    ints = chain(("tokens", "Input", {"shape": [10], "dtype": "int64"}), ("fc", "Linear", {}),
                 ("out", "Output", {}))
    (problem,) = analyze(ints).errors
    assert problem.fix.layer_type == "Embedding"
    apply_fix(ints, problem.fix)
    assert analyze(ints).ok


def test_recurrent_layer_fed_an_image():
    graph = chain(("image", "Input", {"shape": [3, 8, 8]}), ("lstm", "LSTM", {}), ("out", "Output", {}))
    (problem,) = analyze(graph).errors
    assert problem.message == "LSTM needs a (T, F) sequence input, got 3×8×8"
    apply_fix(graph, problem.fix)
    analysis = analyze(graph)
    assert analysis.ok and analysis.info("lstm").out_shape == (3, 64)


def test_one_mistake_gives_one_message():
    graph = chain(("image", "Input", {"shape": [16, 4, 4]}), ("fc", "Linear", {}), ("relu", "ReLU", {}),
                  ("fc2", "Linear", {}), ("out", "Output", {}))
    assert [d.node_ids for d in validate(graph)] == [("fc",)]
    assert analyze(graph).info("fc2").out_shape is None


def test_joint_parameter_errors():
    graph = chain(("image", "Input", {"shape": [6, 8, 8]}),
                  ("conv", "Conv2d", {"out_channels": 8, "groups": 4}), ("out", "Output", {}))
    assert "groups=4 must divide" in analyze(graph).errors[0].message
    graph.set_params("conv", {"groups": 2, "padding": "same", "stride": 2})
    assert 'padding "same" needs stride 1' in analyze(graph).errors[0].message
    graph.set_params("conv", {"stride": 1})
    assert analyze(graph).info("conv").out_shape == (8, 8, 8)


def test_dropout_on_a_single_layer_rnn_is_a_warning():
    graph = chain(("seq", "Input", {"shape": [5, 3]}), ("rnn", "GRU", {"dropout": 0.2}), ("out", "Output", {}))
    analysis = analyze(graph)
    assert analysis.ok
    assert [d.code for d in analysis.warnings] == ["advice"]


def test_counts_for_recurrent_layers_match_torch():
    from torch import nn
    graph = chain(("seq", "Input", {"shape": [7, 5]}),
                  ("lstm", "LSTM", {"hidden_size": 6, "num_layers": 2, "bidirectional": True}),
                  ("out", "Output", {}))
    info = analyze(graph).info("lstm")
    reference = nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)
    assert info.params == sum(p.numel() for p in reference.parameters())
    assert info.out_shape == (7, 12)
    assert info.macs == 7 * (2 * 4 * 6 * (5 + 6) + 2 * 4 * 6 * (12 + 6))


def test_many_cycles_and_idle_nodes_give_a_bounded_report():
    """Issue 17, item 3: 5,000 two-node cycles give 20 named cycles and one count, not 5,000
    messages (the cycles come from one pass over the strongly connected components)."""
    graph = chain(("x", "Input", {"shape": [4]}), ("y", "Output", {}))
    for i in range(5000):
        graph.create_node("ReLU", node_id=f"a{i}")
        graph.create_node("ReLU", node_id=f"b{i}")
        graph.connect(f"a{i}", f"b{i}")
        graph.connect(f"b{i}", f"a{i}")
    found = validate(graph)
    cycles = [d for d in found if d.code == "cycle"]
    assert len(cycles) == 21 and cycles[0].message == "cycle: a0 → b0 → a0; data cannot flow in a loop"
    assert cycles[-1].message == "and 4980 more cycles" and len(cycles[-1].node_ids) == 9960
    idle = [d for d in found if d.code == "off-path"]
    assert len(idle) == 51 and idle[-1].message.startswith("and 9950 more nodes")
    assert sum(len(d.node_ids) for d in idle) == 10000  # every idle node is still marked


def test_missing_ports_are_reported_as_ranges():
    """Issue 17, item 2: a port number far past the others is one message, not one per gap."""
    graph = chain(("x", "Input", {"shape": [4]}), ("add", "Add", {}), ("y", "Output", {}))
    graph.connect("x", "add", port=4000)
    (missing,) = [d for d in validate(graph) if d.code == "unconnected"]
    assert missing.message == "input ports 1–3999 are not connected"
