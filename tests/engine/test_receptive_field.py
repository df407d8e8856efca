"""Receptive fields: the design notes' recurrence, checked against a brute-force gradient probe."""

import pytest
import torch

from graph_engine import Graph, analyze, compile_graph
from tests.engine.helpers import chain


def test_textbook_stack():
    # Three 3×3 convolutions see 7×7; a stride-2 pool in between doubles later growth.
    graph = chain(("image", "Input", {"shape": [1, 32, 32]}),
                  ("c1", "Conv2d", {"kernel_size": 3}), ("c2", "Conv2d", {"kernel_size": 3}),
                  ("pool", "MaxPool2d", {"kernel_size": 2}), ("c3", "Conv2d", {"kernel_size": 3}),
                  ("out", "Output", {}))
    analysis = analyze(graph)
    sizes = {n: analysis.info(n).field[0].size for n in ("c1", "c2", "pool", "c3")}
    assert sizes == {"c1": 3, "c2": 5, "pool": 6, "c3": 10}
    assert analysis.info("c3").field[0].jump == 2
    assert analysis.info("c1").field[0].start == 1.5  # centre of pixels 0..2


def test_dilation_and_padding():
    graph = chain(("image", "Input", {"shape": [1, 32, 32]}),
                  ("c1", "Conv2d", {"kernel_size": 3, "dilation": 2, "padding": 2}), ("out", "Output", {}))
    field = analyze(graph).info("c1").field[0]
    assert (field.size, field.jump, field.start) == (5, 1, 0.5)


def test_flatten_ends_spatial_fields_and_merges_take_the_union():
    graph = Graph()
    graph.create_node("Input", {"shape": [1, 16, 16]}, node_id="x")
    graph.create_node("Conv2d", {"kernel_size": 5, "padding": 2}, node_id="wide")
    graph.create_node("Conv2d", {"kernel_size": 1}, node_id="narrow")
    graph.create_node("Concat", node_id="cat")
    graph.create_node("Flatten", node_id="flat")
    graph.create_node("Output", node_id="out")
    for a, b, p in [("x", "wide", 0), ("x", "narrow", 0), ("wide", "cat", 0), ("narrow", "cat", 1),
                    ("cat", "flat", 0), ("flat", "out", 0)]:
        graph.connect(a, b, p)
    analysis = analyze(graph)
    assert analysis.info("cat").field[0].size == 5
    assert analysis.info("flat").field is None


def _gradient_extent(module, shape, out_index):
    """Which input pixels influence one output unit, found by backpropagation."""
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    y = module(x)
    y[(0, 0, *out_index)].backward()
    hit = x.grad[0].abs().sum(0).nonzero()
    return [(int(hit[:, a].min()), int(hit[:, a].max())) for a in range(hit.shape[1])]


@pytest.mark.parametrize("layers", [
    [("Conv2d", {"kernel_size": 3, "stride": 2}), ("Conv2d", {"kernel_size": 5, "dilation": 2})],
    [("Conv2d", {"kernel_size": [3, 5]}), ("AvgPool2d", {"kernel_size": 3, "stride": 2}),
     ("Conv2d", {"kernel_size": 3})],
    [("Conv2d", {"kernel_size": 3, "padding": 1}), ("AvgPool2d", {"kernel_size": 2}),
     ("Conv2d", {"kernel_size": 3, "padding": "same"})],
])
def test_analytic_field_matches_gradient_probe(layers):
    items = [("image", "Input", {"shape": [1, 40, 40]})]
    items += [(f"n{i}", t, p) for i, (t, p) in enumerate(layers)]
    items.append(("out", "Output", {}))
    graph = chain(*items)
    analysis = analyze(graph)
    last = f"n{len(layers) - 1}"
    field = analysis.info(last).field
    module = compile_graph(graph, device="cpu").double()
    torch.nn.init.ones_(module.n0.weight)  # no exact zeros that would hide a pixel
    index = (4, 5)
    extent = _gradient_extent(module, (1, 40, 40), index)
    # (max pooling would route the gradient to one pixel only, so the probes average)
    for axis, position, (lo, hi) in zip(field, index, extent):
        centre = axis.start + position * axis.jump
        expected_lo = max(0, int(centre - axis.size / 2))
        expected_hi = int(centre + axis.size / 2) - 1
        assert (lo, hi) == (expected_lo, expected_hi)
