"""Memory is estimated before anything is allocated (issue 17, item 6): summary and the
editor warn about networks most machines cannot hold, and compiling or exporting one that
this machine cannot hold is refused in one line instead of dying in the allocator."""

from __future__ import annotations

import pytest

from graph_engine import Graph, analyze, compile_graph
from graph_engine.errors import CompileError
from graph_engine.interop import export_onnx, export_torchscript
from graph_engine.memory import TooLarge, check_fits, estimate


def _linear(features: int, inputs: int = 8) -> Graph:
    graph = Graph("huge")
    graph.create_node("Input", {"shape": [inputs]}, node_id="x")
    graph.create_node("Linear", {"out_features": features}, node_id="fc")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "fc")
    graph.connect("fc", "y")
    return graph


def test_the_estimate_counts_parameters_and_activations():
    found = estimate(analyze(_linear(10, inputs=6)))
    assert found.parameter_bytes == 4 * (6 * 10 + 10)
    assert found.sample_bytes == 4 * (6 + 10 + 10)  # Input, Linear and Output values
    assert found.training_bytes(32) == 4 * found.parameter_bytes + 2 * 32 * found.sample_bytes


def test_a_terabyte_linear_is_a_warning_in_the_analysis_and_refused_by_the_compiler():
    graph = _linear(1_000_000, inputs=1_000_000)
    analysis = analyze(graph)
    assert analysis.ok  # valid, just too big
    (advice,) = [d for d in analysis.warnings if d.code == "memory"]
    assert advice.message.startswith("the parameters take 3.64 TiB (float32)")
    with pytest.raises(TooLarge, match=r"'huge''s parameters needs about 3.64 TiB of memory; this machine has"):
        compile_graph(graph, device="cpu")
    assert issubclass(TooLarge, CompileError)  # every caller that reports compile errors reports this


def test_an_input_too_big_for_an_example_batch_is_refused_before_export(tmp_path):
    graph = Graph("wide")
    graph.create_node("Input", {"shape": [3, 100_000, 100_000]}, node_id="x")
    graph.create_node("Flatten", {}, node_id="f")
    graph.create_node("Output", {}, node_id="y")
    graph.connect("x", "f")
    graph.connect("f", "y")
    (advice,) = [d for d in analyze(graph).warnings if d.code == "memory"]
    assert "one sample's activations take" in advice.message
    for export in (export_torchscript, export_onnx):
        with pytest.raises(TooLarge, match="exporting 'wide' needs about"):
            export(graph, tmp_path / "m.out")
    assert not (tmp_path / "m.out").exists()


def test_what_fits_passes_and_what_does_not_says_both_sizes():
    check_fits(1024, "a tiny thing", available=2048)
    with pytest.raises(TooLarge, match=r"^a big thing needs about 2 KiB of memory; this machine has 1 KiB available$"):
        check_fits(2048, "a big thing", available=1024)
