"""Importing values whose batch is not simply their first dim (no torchvision needed): windows
folded into the batch and moved with it, a learned table read at fixed indices, a mask
computed from the shapes, ``einsum``, ``roll``, ``F.pad`` and ``F.normalize`` in a model's own
code become per-sample layers, and the graph computes what the model computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from graph_engine import compile_graph, generate_code, load_graph, save_graph
from graph_engine.interop import UnsupportedModel, import_module_object
from graph_engine.interop.batch_layout import PLAIN, Layout, sample_axis, sample_shape
from graph_engine.interop.fx_modules import Unsupported
from graph_engine.interop.importer import compiled_with

W = 2  # window side


def _relative_index(window: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
    return (relative[..., 0] * (2 * window - 1) + relative[..., 1]).flatten()


class WindowAttention(nn.Module):
    """Shifted-window self-attention on (B, H, W, C), as Swin writes it, in the model's own code."""

    def __init__(self, dim: int = 8, heads: int = 2, cosine: bool = False):
        super().__init__()
        self.heads, self.cosine = heads, cosine
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.table = nn.Parameter(torch.randn((2 * W - 1) ** 2, heads))
        self.register_buffer("index", _relative_index(W))
        self.register_buffer("mask", torch.tensor([[0.0, -100.0, -100.0, 0.0]]).repeat(4, 1))

    def forward(self, x):
        B, H, Wd, C = x.shape
        x = F.pad(x, (0, 0, 0, 1, 0, 1))[:, :H, :Wd]  # a border, cut off again
        x = torch.roll(x, (-1, -1), (1, 2))
        x = x.view(B, H // W, W, Wd // W, W, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, W * W, C)
        qkv = self.qkv(x).reshape(x.size(0), W * W, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.cosine:
            q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = torch.einsum("nhid,nhjd->nhij", q * (C // self.heads) ** -0.5, k)
        bias = self.table[self.index].view(W * W, W * W, -1).permute(2, 0, 1).unsqueeze(0)
        attn = attn + bias + self.mask.unsqueeze(0).unsqueeze(0)  # the mask: (L, L), per window alike
        attn = attn.softmax(-1)
        x = (attn @ v).transpose(1, 2).reshape(-1, W * W, C)
        x = self.proj(x)
        x = x.view(B, H // W, Wd // W, W, W, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H, Wd, C)
        return torch.roll(x, (1, 1), (1, 2))


@pytest.mark.parametrize("cosine", [False, True])
def test_hand_written_window_attention_imports_exactly_and_saves(tmp_path, cosine):
    torch.manual_seed(0)
    model = WindowAttention(cosine=cosine).eval()
    imported = import_module_object(model, (4, 4, 8))
    assert imported.max_difference <= 1e-12
    types = [n.type for n in imported.graph]
    assert types.count("Roll") == 2 and types.count("MatMul") == 2 and "IndexSelect" in types
    assert ("Normalize" in types) == cosine and "Pad" in types and "Constant" in types
    assert not any(n.type == "Reshape" and n.params["shape"][0] == 2 * 4 for n in imported.graph)  # no batch
    compiled = compiled_with(imported.graph, imported.state).eval()
    assert sum(p.numel() for p in compiled.parameters()) == sum(p.numel() for p in model.parameters())
    save_graph(imported.graph, tmp_path / "w.json")
    again = compile_graph(load_graph(tmp_path / "w.json"), device="cpu").eval()
    again.load_state_dict({k: v.clone() for k, v in imported.state.items()})
    x = torch.randn(3, 4, 4, 8)  # another batch size than the trace's
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=1e-5, atol=1e-5)
    assert "torch.roll(" in generate_code(imported.graph)


def test_a_moved_batch_that_reaches_a_plain_layer_names_the_call_that_moved_it():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x.reshape(-1, 4)).sum(1)  # (B·5, 4): the batch folded, then a plain layer

    with pytest.raises(UnsupportedModel) as failure:
        import_module_object(Model().eval(), (5, 4))
    problems = failure.value.problems
    assert any("Tensor.reshape at node reshape (in forward): it changes the batch dimension" in p
               for p in problems), problems


def test_layout_arithmetic():
    folded = Layout(1, True)
    assert sample_shape((3, 2 * 6, 5), folded, 2) == (3, 6, 5)
    assert sample_shape((3, 2, 5), Layout(1), 2) == (3, 5)
    assert sample_shape((3, 5), Layout(None), 2) == (3, 5)
    assert sample_axis(-1, 3, Layout(1)) == 1 and sample_axis(0, 3, Layout(1)) == 0
    assert sample_axis(2, 3, PLAIN) == 1
    with pytest.raises(Unsupported):
        sample_axis(1, 3, folded)
