"""Importing models that use the operations of issue 11: gating, ceil-mode pooling, group and
instance norms, the newer activations, attention, permutes, chunks, indexing; each import
computes what the hand-written module computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from graph_engine import analyze, compile_graph
from graph_engine.interop import UnsupportedModel, import_module_object


class GatedConv(nn.Module):
    """Squeeze-and-excitation gating, ceil-mode pooling, the newer activations and norms."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.gn = nn.GroupNorm(4, 8)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.acts = nn.Sequential(nn.ReLU6(), nn.SiLU(), nn.Hardswish(), nn.ELU(0.5), nn.Identity())
        self.fc = nn.Conv2d(8, 8, 1)
        self.gate = nn.Hardsigmoid()
        self.amax = nn.AdaptiveMaxPool2d(2)
        self.avg = nn.AvgPool2d(3, 1, 1, ceil_mode=True, count_include_pad=False)

    def forward(self, x):
        x = self.acts(self.inorm(self.gn(self.pool(self.conv(x)))))
        x = x * self.gate(self.fc(x.mean((2, 3), keepdim=True)))
        x = torch.cat([x], 1)  # DenseNet's one-tensor cat: x itself
        left, right = x.chunk(2, dim=1)
        x = torch.cat([right, F.relu6(left)], 1)
        return self.amax(self.avg(x)).flatten(1)


class TinyEncoder(nn.Module):
    """A class-token readout after self-attention, with the axis moves transformers use."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = self.proj(x.transpose(1, 2))             # (N, C, L) -> (N, L, C) -> (N, L, 8)
        out, weights = self.attn(x, x, x)
        scores = torch.matmul(out, out.permute(0, 2, 1)).softmax(-1)
        mixed = scores @ out
        first = mixed[:, 0] + weights[..., 1:3].sum(-1).mean(1, keepdim=True).expand(-1, 8)
        return self.head(first)


def _check(model, shape):
    torch.manual_seed(0)
    imported = import_module_object(model, shape)
    assert analyze(imported.graph).errors == []
    assert imported.max_difference <= 1e-10
    compiled = compile_graph(imported.graph, device="cpu").eval()
    compiled.load_state_dict(imported.state)
    x = torch.randn(4, *shape)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model.eval()(x), rtol=1e-5, atol=1e-6)
    return imported.graph


def test_gating_ceil_mode_pooling_norms_and_activations_import_exactly():
    graph = _check(GatedConv(), (3, 11, 11))
    types = [node.type for node in graph]
    for layer in ("MaxPool2d", "GroupNorm", "InstanceNorm2d", "ReLU6", "SiLU", "Hardswish", "ELU",
                  "Mean", "Hardsigmoid", "Mul", "Chunk", "AdaptiveMaxPool2d", "AvgPool2d"):
        assert layer in types, (layer, types)
    assert "Identity" not in types and types.count("Concat") == 1  # nn.Identity and cat([x]): no node
    assert graph.node("pool").params["ceil_mode"] is True
    assert graph.node("avg").params["count_include_pad"] is False
    chunk = next(n.id for n in graph if n.type == "Chunk")
    concat = next(n.id for n in graph if n.type == "Concat")
    assert sorted((e.port, e.source_port) for e in graph.in_edges(concat) if e.source == chunk) == [(0, 1)]


def test_attention_permutes_matmul_and_indexing_import_exactly():
    graph = _check(TinyEncoder(), (4, 5))
    types = [node.type for node in graph]
    for layer in ("Transpose", "MultiheadAttention", "Permute", "MatMul", "Select", "Slice", "Sum",
                  "Mean", "Expand"):
        assert layer in types, (layer, types)
    attn_inputs = sorted(e.port for e in graph.in_edges("attn"))
    assert attn_inputs == [0, 1, 2]
    assert any(e.source == "attn" and e.source_port == 1 for e in graph.edges)  # the weights
    select = next(n for n in graph if n.type == "Select")
    assert select.params == {"dim": 0, "index": 0}


@pytest.mark.parametrize("forward, message", [
    (lambda self, x: x.permute(1, 0, 2), "Tensor.permute at node permute (in forward): it moves the batch"),
    (lambda self, x: x + 2.0, "adding a constant"),
    (lambda self, x: x.mean(0), "an operation on the batch dimension"),
    (lambda self, x: x[0], "indexing the batch dimension"),
    (lambda self, x: self.attn(x, x, x, attn_mask=torch.zeros(5, 5))[0], "a mask"),
])
def test_what_the_operations_cannot_express_is_refused_with_the_reason(forward, message):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(4, 1, batch_first=True)

    Model.forward = forward
    with pytest.raises(UnsupportedModel) as failure:
        import_module_object(Model(), (5, 4))
    assert any(message in problem for problem in failure.value.problems), failure.value.problems
