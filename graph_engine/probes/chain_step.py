"""One generated character at the cost of reading the weights once: a character model's
decoder step computed with torch's kernels on preallocated buffers.

The graph's decoder step (:mod:`graph_engine.probes.incremental`) runs through fx and
``nn.LSTM.forward``: per character that is a module call per node, the LSTM's argument
checks, fresh state tensors and a sampling op chain — ~0.3 ms on the 2-core VM, where the
arithmetic itself (reading 3.3 MB of weights of the 2×256 LSTM for matrix-vector products)
takes ~0.12 ms. For the common shape of a character model — a chain ``Input → Embedding →
(LSTM | GRU | RNN)+ → per-step layers → Output`` with no encoder — :class:`ChainStep`
computes the step itself:

- the first recurrent layer's input projection of every token (``W_ih · embed(token) + b``)
  is a table made once per call (V × gates); a step looks its row up;
- each deeper layer multiplies ``[x | h]`` by ``[W_ih | W_hh]`` in one ``addmm``;
- the gates are computed in place on buffers made once; the state never leaves them;
- it runs on one CPU thread: a step is too small to split (two threads gain little on a quiet
  2-core machine and, on a busy one, ran it 7× slower: 3.8 against 0.55 ms a character);
- the next token is drawn by the Gumbel-max trick from noise drawn for all steps at once
  (``argmax(logits / T + G)`` is a draw from ``softmax(logits / T)``), so a step is one
  ``argmax`` into the output tensor, with no Python number crossing per character.

The numbers are torch's own kernels' (equal to the full model to 1e-6: tested). Weights are
read when :meth:`ChainStep.build` is called, so a ChainStep serves one generation, with the
weights of that moment. Anything else (an encoder, a branch, a layer that is not a module)
makes :meth:`ChainStep.build` return None and the caller uses the fx step.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
from torch import fx, nn

from graph_engine.model import Graph
from graph_engine.probes.incremental import RECURRENT, DecoderSplit

#: the first layer's projection table is made only up to this many floats (64 MB)
MAX_TABLE = 16 * 1024 * 1024
#: layers after the recurrent ones that act on a (1, F) step as on a (B, T, F) sequence
HEAD_LAYERS = frozenset({"Linear", "Dropout", "LayerNorm", "Identity", "ReLU", "Sigmoid", "Tanh", "GELU", "ReLU6",
                         "SiLU", "Hardswish", "Hardsigmoid", "LeakyReLU", "ELU"})
#: progress(done) is called every this many characters
PROGRESS_EVERY = 16

Progress = Callable[[int], bool]


class _Recurrent:
    """One layer of an LSTM/GRU/RNN module, batch 1, with its state buffers."""

    def __init__(self, module: nn.RNNBase, layer: int, kind: str, table: torch.Tensor | None,
                 inputs: torch.Tensor, hidden: int):
        self.kind, self.hidden = kind, hidden
        w_ih = getattr(module, f"weight_ih_l{layer}").detach()
        w_hh = getattr(module, f"weight_hh_l{layer}").detach()
        gates = w_ih.shape[0]
        zeros = torch.zeros(gates, dtype=w_ih.dtype, device=w_ih.device)
        b_ih = getattr(module, f"bias_ih_l{layer}").detach() if module.bias else zeros
        b_hh = getattr(module, f"bias_hh_l{layer}").detach() if module.bias else zeros
        self.table = table  # (V, gates): W_ih · embed(v) + b_ih (+ b_hh unless GRU), or None
        self.inputs = inputs  # (1, F): this layer's input, written by the layer below
        self.h = torch.zeros(1, hidden, dtype=w_ih.dtype, device=w_ih.device)
        self.g = torch.empty(1, gates, dtype=w_ih.dtype, device=w_ih.device)
        # weights transposed and contiguous: x·Wᵀ then streams rows of Wᵀ (~20 % faster here than W·x)
        if kind == "GRU":  # r and z mix both products, n only the input's: keep them apart
            self.w_ih_t, self.w_hh_t = w_ih.t().contiguous(), w_hh.t().contiguous()
            self.b_ih, self.b_hh = b_ih[None], b_hh[None]
            self.gh = torch.empty_like(self.g)
        elif table is not None:  # the input's part is the table's row
            self.w_hh_t = w_hh.t().contiguous()
        else:
            self.w_t = torch.cat([w_ih, w_hh], 1).t().contiguous()  # (F + H, gates), read as [x | h]
            self.bias = (b_ih + b_hh)[None]
            self.xh = torch.empty(1, w_ih.shape[1] + hidden, dtype=w_ih.dtype, device=w_ih.device)
        if kind == "LSTM":
            self.c = torch.zeros_like(self.h)
            self.s = torch.empty_like(self.g)
            self.t = torch.empty_like(self.h)
        self.nonlinearity = torch.relu if getattr(module, "nonlinearity", "tanh") == "relu" else torch.tanh

    def load(self, h: torch.Tensor, c: torch.Tensor | None) -> None:
        self.h.copy_(h)
        if c is not None:
            self.c.copy_(c)

    def step(self, token: torch.Tensor) -> torch.Tensor:
        """The layer's new h (1, H) from its input (the token's table row for the first)."""
        g, h, hidden = self.g, self.h, self.hidden
        if self.kind == "GRU":
            base = self.table.index_select(0, token) if self.table is not None else None
            if base is None:
                torch.addmm(self.b_ih, self.inputs, self.w_ih_t, out=g)
            else:
                g.copy_(base)
            torch.addmm(self.b_hh, h, self.w_hh_t, out=self.gh)
            rz = g[:, :2 * hidden].add_(self.gh[:, :2 * hidden]).sigmoid_()
            n = g[:, 2 * hidden:].addcmul_(rz[:, :hidden], self.gh[:, 2 * hidden:]).tanh_()
            h.sub_(n).mul_(rz[:, hidden:]).add_(n)  # (1 − z)·n + z·h
            return h
        if self.table is not None:
            torch.addmm(self.table.index_select(0, token), h, self.w_hh_t, out=g)
        else:
            self.xh[:, :self.inputs.shape[1]].copy_(self.inputs)
            self.xh[:, self.inputs.shape[1]:].copy_(h)
            torch.addmm(self.bias, self.xh, self.w_t, out=g)
        if self.kind != "LSTM":
            h.copy_(self.nonlinearity(g))
            return h
        s, c = self.s, self.c
        torch.sigmoid(g, out=s)  # i, f, (g), o
        torch.tanh(g[:, 2 * hidden:3 * hidden], out=self.t)
        c.mul_(s[:, hidden:2 * hidden]).addcmul_(s[:, :hidden], self.t)
        torch.tanh(c, out=self.t)
        torch.mul(s[:, 3 * hidden:], self.t, out=h)
        return h


class ChainStep:
    """See the module docstring: build with :meth:`build`, then :meth:`load` a state
    and :meth:`generate`."""

    def __init__(self, embedding: nn.Embedding, layers: list[_Recurrent], head: list[Callable[..., torch.Tensor]]):
        self.embedding = embedding
        self.layers = layers
        self.head = head

    @classmethod
    def build(cls, model: nn.Module, graph: Graph, split: DecoderSplit) -> "ChainStep | None":
        """The step of ``model`` (eval mode) if its decoder is a plain chain, else None."""
        if split.has_context or model.training:
            return None
        nodes = [n for n in split.decoder_nodes if n != split.output_id]
        if not nodes or graph.node(nodes[0]).type != "Embedding" or not split.recurrent:
            return None
        chain = [split.decoder_input, *nodes]
        for previous, node_id in zip(chain, chain[1:]):
            feeds = [e for e in graph.edges if e.target == node_id]
            if len(feeds) != 1 or feeds[0].source != previous or feeds[0].source_port != 0:
                return None
        modules = [_per_step_callable(model, n) for n in nodes]
        if any(m is None for m in modules):
            return None
        embedding = modules[0]
        if not isinstance(embedding, nn.Embedding) or embedding.max_norm is not None:
            return None
        kinds = [graph.node(n).type for n in nodes]
        recurrent = [k for k, kind in enumerate(kinds) if kind in RECURRENT]
        if recurrent != list(range(1, 1 + len(recurrent))):  # Embedding, then the recurrent layers
            return None
        layers: list[_Recurrent] = []
        inputs = embedding.weight.detach()[:1]
        for k in recurrent:
            module = modules[k]
            if not isinstance(module, nn.RNNBase) or module.bidirectional or getattr(module, "proj_size", 0):
                return None
            for layer in range(module.num_layers):
                table = None
                if not layers:
                    table = _projection_table(embedding, module, kinds[k])
                    if table is None:
                        return None
                layers.append(_Recurrent(module, layer, kinds[k], table, inputs, module.hidden_size))
                inputs = layers[-1].h
        head = modules[1 + len(recurrent):]
        for node_id in nodes[1 + len(recurrent):]:
            node = graph.node(node_id)
            if node.type not in HEAD_LAYERS or (node.type == "LayerNorm" and node.params.get("channels_first")):
                return None
        return cls(embedding, layers, head)

    def load(self, states: tuple[torch.Tensor, ...]) -> None:
        """Start from the decoder's state (as :class:`~graph_engine.probes.incremental.DecoderState`
        holds it: per recurrent node h (1, L, H), and c for an LSTM)."""
        index = 0
        layer = 0
        while layer < len(self.layers):
            kind = self.layers[layer].kind
            h = states[index]
            c = states[index + 1] if kind == "LSTM" else None
            index += 2 if kind == "LSTM" else 1
            for k in range(h.shape[1]):
                self.layers[layer + k].load(h[:, k], None if c is None else c[:, k])
            layer += h.shape[1]

    def logits(self, token: torch.Tensor) -> torch.Tensor:
        """(1, V) logits after feeding ``token`` (shape (1,), int64)."""
        x: torch.Tensor = token
        for layer in self.layers:
            x = layer.step(token)
        for module in self.head:
            x = module(x)
        return x

    def generate(self, first: torch.Tensor, length: int, size: int, temperature: float,
                 generator: torch.Generator, progress: Progress | None = None) -> torch.Tensor:
        """``length`` tokens (int64, shape (n,), n = length unless ``progress`` returned False)
        after the logits ``first`` (1, V) of the prompt's last position."""
        device, dtype = first.device, first.dtype
        produced = torch.empty((length, 1), dtype=torch.int64, device=device)
        noise = None
        if temperature > 0:
            uniform = torch.rand((length, size), generator=generator, device=device, dtype=dtype)
            noise = uniform.clamp_(min=torch.finfo(uniform.dtype).tiny).log_().neg_().log_().neg_()
        scores = torch.empty(1, size, dtype=dtype, device=device)
        with _one_thread(device):
            return self._generate(first, produced, noise, scores, size, temperature, progress)

    def _generate(self, first: torch.Tensor, produced: torch.Tensor, noise: torch.Tensor | None,
                  scores: torch.Tensor, size: int, temperature: float, progress: Progress | None) -> torch.Tensor:
        length = len(produced)
        logits = first
        for index in range(length):
            out = produced[index]
            if noise is None:
                torch.argmax(logits[:, :size], dim=1, out=out)
            else:
                # logits/T + Gumbel noise: its argmax is a draw from softmax(logits/T)
                torch.add(noise[index:index + 1], logits[:, :size], alpha=1.0 / temperature, out=scores)
                torch.argmax(scores, dim=1, out=out)
            done = index + 1
            if progress is not None and (done % PROGRESS_EVERY == 0 or done == length) and progress(done) is False:
                return produced[:done, 0]
            if index + 1 < length:
                logits = self.logits(out)
        return produced[:, 0]


def _per_step_callable(model: nn.Module, node_id: str) -> Callable[..., torch.Tensor] | None:
    """What the compiled model computes for ``node_id``: its module, or the function of its one
    fx call (an activation such as ``torch.relu``) bound to its constant arguments; None else."""
    module = getattr(model, node_id, None)
    if isinstance(module, nn.Module):
        return module
    calls = [n for n in getattr(getattr(model, "graph", None), "nodes", ()) if n.name == node_id]
    if len(calls) != 1 or calls[0].op != "call_function":
        return None
    call = calls[0]
    rest, keywords = call.args[1:], dict(call.kwargs)
    if any(isinstance(a, fx.Node) for a in (*rest, *keywords.values())):
        return None
    return lambda x: call.target(x, *rest, **keywords)


@contextlib.contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """torch's intra-op threads set to 1 on the CPU while the steps run (see the module docstring)."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _projection_table(embedding: nn.Embedding, module: nn.RNNBase, kind: str) -> torch.Tensor | None:
    """W_ih · embed(v) + b for every token v (and + b_hh, except for a GRU), or None if too big."""
    w_ih = module.weight_ih_l0.detach()
    if embedding.weight.shape[0] * w_ih.shape[0] > MAX_TABLE or embedding.weight.shape[1] != w_ih.shape[1]:
        return None
    table = embedding.weight.detach() @ w_ih.t()
    if module.bias:
        table += module.bias_ih_l0.detach()
        if kind != "GRU":
            table += module.bias_hh_l0.detach()
    return table
