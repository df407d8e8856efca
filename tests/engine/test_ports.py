"""The graph language's ports (issue 11): several Inputs and Outputs, edges from a
chosen output (``source_port``), and recurrent state ports — an encoder's final state
starting a decoder, compiled and exported exactly as a hand-written module computes it."""

from __future__ import annotations

import importlib.util
import warnings

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from graph_engine import Edge, Graph, analyze, compile_graph, generate_code, loads, dumps

T_SRC, T_TGT, F_SRC, F_TGT, HIDDEN, CLASSES, BATCH = 7, 5, 4, 3, 6, 8, 3


def encoder_decoder(cell: str = "GRU", layers: int = 1) -> Graph:
    """source → encoder → (h_n[, c_n]) → decoder's state; target → decoder → head → logits.
    A second Output returns the decoder's final hidden state."""
    graph = Graph("Encoder–decoder")
    graph.create_node("Input", {"shape": [T_SRC, F_SRC]}, node_id="source")
    graph.create_node("Input", {"shape": [T_TGT, F_TGT]}, node_id="target")
    rnn = {"hidden_size": HIDDEN, "num_layers": layers}
    graph.create_node(cell, {**rnn, "return_sequences": False}, node_id="encoder")
    graph.create_node(cell, rnn, node_id="decoder")
    graph.create_node("Linear", {"out_features": CLASSES}, node_id="head")
    graph.create_node("Output", {}, node_id="logits")
    graph.create_node("Output", {}, node_id="final_state")
    graph.connect("source", "encoder")
    graph.connect("target", "decoder")
    graph.connect("encoder", "decoder", port=1, source_port=1)
    if cell == "LSTM":
        graph.connect("encoder", "decoder", port=2, source_port=2)
    graph.connect("decoder", "head")
    graph.connect("head", "logits")
    graph.connect("decoder", "final_state", source_port=1)
    return graph


class HandWritten(nn.Module):
    def __init__(self, cell: str, layers: int):
        super().__init__()
        kind = getattr(nn, cell)
        self.encoder = kind(F_SRC, HIDDEN, num_layers=layers, batch_first=True)
        self.decoder = kind(F_TGT, HIDDEN, num_layers=layers, batch_first=True)
        self.head = nn.Linear(HIDDEN, CLASSES)

    def forward(self, source, target):
        _, state = self.encoder(source)
        sequence, (final) = self.decoder(target, state)
        hidden = final[0] if isinstance(final, tuple) else final
        return self.head(sequence), hidden.transpose(0, 1)


@pytest.mark.parametrize("cell,layers", [("GRU", 1), ("LSTM", 2), ("RNN", 2)])
def test_encoder_state_starts_the_decoder_exactly_as_written_by_hand(cell, layers):
    graph = encoder_decoder(cell, layers)
    analysis = analyze(graph)
    assert analysis.ok, analysis.diagnostics
    assert analysis.input_ids == ["source", "target"] and analysis.output_ids == ["logits", "final_state"]
    assert analysis.info("encoder").out_shapes[1] == (layers, HIDDEN)
    assert analysis.info("final_state").out_shape == (layers, HIDDEN)
    compiled = compile_graph(graph, device="cpu").double()
    hand = HandWritten(cell, layers).double()
    hand.load_state_dict(compiled.state_dict(), strict=True)
    torch.manual_seed(0)
    source = torch.randn(BATCH, T_SRC, F_SRC, dtype=torch.float64)
    target = torch.randn(BATCH, T_TGT, F_TGT, dtype=torch.float64)
    got, expected = compiled(source, target), hand(source, target)
    assert [tuple(t.shape) for t in got] == [(BATCH, T_TGT, CLASSES), (BATCH, layers, HIDDEN)]
    for a, b in zip(got, expected):
        assert_close(a, b, atol=1e-10, rtol=0)
    weights = [torch.randn_like(t) for t in got]
    sum((t * w).sum() for t, w in zip(got, weights)).backward()
    sum((t * w).sum() for t, w in zip(expected, weights)).backward()
    for (name, p), (_, q) in zip(compiled.named_parameters(), hand.named_parameters()):
        assert p.grad is not None, name
        assert_close(p.grad, q.grad, atol=1e-10, rtol=0, msg=name)


def test_exported_code_takes_both_inputs_and_returns_both_outputs(tmp_path):
    graph = encoder_decoder("LSTM", 2)
    source = generate_code(graph)
    assert "def forward(self, source, target):" in source
    assert "return head, decoder_h_n" in source  # each Output returns what feeds it, in file order
    path = tmp_path / "encdec.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("encdec", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.EncoderDecoder()
    compiled = compile_graph(graph, device="cpu")
    exported.load_state_dict(compiled.state_dict())
    x, y = torch.randn(2, T_SRC, F_SRC), torch.randn(2, T_TGT, F_TGT)
    for a, b in zip(exported(x, y), compiled(x, y)):
        assert_close(a, b, atol=0, rtol=0)


def test_a_file_with_source_ports_round_trips():
    graph = encoder_decoder("LSTM", 1)
    again = loads(dumps(graph))
    assert Edge("encoder", "decoder", 2, 2) in again.edges
    assert dumps(again) == dumps(graph)


def test_state_ports_are_checked_at_the_node_with_a_fix():
    graph = encoder_decoder("GRU", 2)
    graph.set_params("encoder", {"num_layers": 1})  # h_n is 1×6, the decoder wants 2×6
    problems = [d for d in analyze(graph).errors if d.node == "decoder"]
    assert problems and "h0 must be (num_layers·directions, hidden_size) = 2×6, got 1×6" in problems[0].message
    graph = encoder_decoder("GRU", 1)
    graph.set_params("decoder", {"hidden_size": 3})
    (problem,) = [d for d in analyze(graph).errors if d.node == "decoder"]
    assert "h0 must be" in problem.message and problem.fix is None  # 6 values cannot become 1×3


def test_an_lstm_takes_both_states_or_neither():
    graph = encoder_decoder("LSTM", 1)
    graph.remove_edge(Edge("encoder", "decoder", 2, 2))
    (problem,) = [d for d in analyze(graph).errors if d.node == "decoder"]
    assert "connect c0 too" in problem.message


def test_wrong_output_ports_are_named():
    graph = encoder_decoder("GRU", 1)
    graph.connect("head", "final_state", port=0, source_port=3)
    messages = [d.message for d in analyze(graph).errors if d.node == "final_state"]
    assert any("head (Linear) has no output port 3; its outputs: 0 (out)" in m for m in messages)
    assert any("has 2 connections" in m for m in messages)


def test_onnx_and_torchscript_take_the_inputs_and_return_the_outputs_in_file_order(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from graph_engine.interop import export_onnx, export_torchscript

    graph = encoder_decoder("GRU", 1)
    torch.manual_seed(0)
    compiled = compile_graph(graph, device="cpu").eval()
    x, y = torch.randn(4, T_SRC, F_SRC), torch.randn(4, T_TGT, F_TGT)
    with torch.no_grad():
        expected = compiled(x, y)
    torch.manual_seed(0)  # the exporter compiles the graph again: the same initial weights
    result = export_onnx(graph, tmp_path / "m.onnx")
    assert result.input_names == ("source", "target") and result.output_names == ("logits", "final_state")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["source", "target"]
    got = session.run(None, {"source": x.numpy(), "target": y.numpy()})
    for a, b in zip(got, expected):
        assert a.shape == tuple(b.shape)
        assert_close(torch.from_numpy(a), b, atol=1e-5, rtol=1e-4)
    export_torchscript(graph, tmp_path / "m.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still works
        loaded = torch.jit.load(str(tmp_path / "m.pt"))
    loaded.load_state_dict(compiled.state_dict())
    with torch.no_grad():
        for a, b in zip(loaded(x, y), expected):
            assert_close(a, b, atol=1e-6, rtol=0)
