"""Incremental decoding as a graph transform: an encoder run once, a decoder run step by step.

A network that generates a sequence (a character model, a translator's or a captioner's
decoder) reads its own output back one token at a time. Re-running the whole prefix for
every new token costs T times too much; instead :func:`split_decoder` cuts the graph in two:

- the **context** part: every node that does not depend on the decoder's Input (the
  encoder: the source's embedding and LSTM, the captioner's CNN). It is compiled once as
  its own graph whose Outputs are the values the decoder part reads from it;
- the **decoder step**: the nodes that do depend on the decoder's Input, compiled as a graph
  whose Inputs are one token per sample, those context values and, for every recurrent node
  on the decoder path, its state; its Outputs are the logits and every such node's final
  state (the state ports make this expressible: a state *is* an input port ``h0``/``c0`` and
  an output port ``h_n``/``c_n``).

Both are ordinary graphs compiled by :func:`graph_engine.compiler.compile_graph`, so the
analysis checks them (a layer that mixes time steps fails there), and their modules are the
trained model's own (shared, not copied): they always compute with the current weights.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import networkx as nx
import torch
from torch import fx

from graph_engine.analysis import Analysis
from graph_engine.compiler import compile_graph
from graph_engine.errors import CompileError
from graph_engine.lowering import checked_analysis
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.traversal import Feed

RECURRENT = ("RNN", "GRU", "LSTM")
#: layers that act on each time step alone (beside the activations and recurrent layers)
_PER_STEP = {"Embedding", "Linear", "LayerNorm", "Dropout", "Add", "Output"}
#: layers per step when they work on the feature dimension (dim ≥ 1 of a (T, F) sequence)
_PER_STEP_DIM = {"Concat", "Softmax"}
#: activations that are not elementwise: they work across dim 0, which is time in a (T, F) sequence
_GROUPS_DIM_0 = {"Softmax", "Maxout"}


class DecodingError(CompileError):
    """The graph cannot be decoded step by step; ``str()`` is one line naming the node."""


@dataclass(frozen=True)
class DecoderSplit:
    """Where a graph's decoder starts and what it reads (see the module docstring)."""

    #: the Input read one token per step
    decoder_input: str
    #: the other Inputs, in file order (the encoder's): what :meth:`IncrementalDecoder.start` takes
    context_inputs: tuple[str, ...]
    output_id: str
    #: nodes that depend on the decoder Input, in topological order (with the Output)
    decoder_nodes: tuple[str, ...]
    #: recurrent nodes among them, in topological order
    recurrent: tuple[str, ...]
    #: values the decoder part reads from the context part, in the order the encoder returns them
    boundary: tuple[Feed, ...]
    #: per recurrent node, one entry per state port: the boundary index feeding it, or None (zeros)
    state_sources: dict[str, tuple[int | None, ...]]
    #: per recurrent node, the per-sample state shape (num_layers·D, H) and the number of states
    state_shapes: dict[str, tuple[tuple[int, int], int]]

    @property
    def has_context(self) -> bool:
        return bool(self.boundary)

    @property
    def connected_states(self) -> list[str]:
        """Recurrent decoder nodes with a state port fed by the context (the encoder)."""
        return [r for r, sources in self.state_sources.items() if any(s is not None for s in sources)]


def _state_count(node_type: str) -> int:
    return 2 if node_type == "LSTM" else 1


def find_decoder_input(graph: Graph, analysis: Analysis, output_id: str) -> str | None:
    """The int64 Input whose tokens run along the time axis of the Output's recurrent layers.

    Among the Inputs the Output depends on, prefer one whose decoder path has a recurrent node
    reading it on port ``in`` (its sequence), and among those one whose recurrent nodes also
    take a state from elsewhere (an encoder); ties go to the last in file order."""
    digraph = analysis.wiring.digraph
    ancestors = nx.ancestors(digraph, output_id)
    best, best_rank = None, -1
    for input_id in analysis.input_ids:
        if input_id not in ancestors or analysis.info(input_id).dtype != "int64":
            continue
        path = nx.descendants(digraph, input_id) & (ancestors | {output_id})
        reading = [n for n in path if graph.node(n).type in RECURRENT
                   and (feed := _port_feed(analysis, n, 0)) is not None
                   and (feed.node in path or feed.node == input_id)]
        fed = any(_port_feed(analysis, n, p) is not None and _port_feed(analysis, n, p).node not in path
                  for n in reading for p in range(1, 1 + _state_count(graph.node(n).type)))
        rank = (2 if fed else 1) if reading else 0
        if rank >= best_rank:
            best, best_rank = input_id, rank
    return best


def _port_feed(analysis: Analysis, node_id: str, port: int) -> Feed | None:
    values = analysis.input_values(node_id)
    return values[port] if port < len(values) else None


def split_decoder(graph: Graph, analysis: Analysis, decoder_input: str | None = None,
                  output_id: str | None = None) -> DecoderSplit:
    """Find the decoder part of ``graph`` (valid, analysed). Raises :class:`DecodingError` with
    one line when it cannot be decoded step by step."""
    outputs = analysis.output_ids
    output_id = output_id or (outputs[0] if outputs else None)
    if output_id is None:
        raise DecodingError(f"{graph.name!r} has no Output to decode")
    decoder_input = decoder_input or find_decoder_input(graph, analysis, output_id)
    if decoder_input is None:
        raise DecodingError(f"{graph.name!r}: no int64 Input feeds the Output '{output_id}'; a decoder "
                            "reads token indices")
    digraph = analysis.wiring.digraph
    needed = nx.ancestors(digraph, output_id) | {output_id}
    path = (nx.descendants(digraph, decoder_input) & needed)
    if output_id not in path:
        raise DecodingError(f"the Output '{output_id}' does not depend on the decoder Input '{decoder_input}'")
    order = [n for n in analysis.order if n in path]
    for node_id in order:
        _check_per_step(graph, node_id)
    inside = set(path) | {decoder_input}
    boundary: list[Feed] = []
    state_sources: dict[str, tuple[int | None, ...]] = {}
    state_shapes: dict[str, tuple[tuple[int, int], int]] = {}
    for node_id in order:
        node_type = graph.node(node_id).type
        states = _state_count(node_type) if node_type in RECURRENT else 0
        sources: list[int | None] = []
        for port, feed in enumerate(analysis.input_values(node_id)):
            if feed is None or feed.node in inside:
                if 1 <= port <= states:
                    if feed is not None:
                        raise DecodingError(
                            f"the state of '{node_id}' ({node_type}) depends on the decoder's own input "
                            f"'{decoder_input}'; step-by-step decoding needs it from the encoder or zeros")
                    sources.append(None)
                continue
            if feed not in boundary:
                boundary.append(feed)
            if 1 <= port <= states:
                sources.append(boundary.index(feed))
        if states:
            while len(sources) < states:
                sources.append(None)
            state_sources[node_id] = tuple(sources)
            shape = analysis.info(node_id).port_shape(1)
            state_shapes[node_id] = ((int(shape[0]), int(shape[1])), states)
    context = tuple(i for i in analysis.input_ids
                    if i != decoder_input and any(nx.has_path(digraph, i, f.node) for f in boundary))
    return DecoderSplit(decoder_input, context, output_id, tuple(order),
                        tuple(n for n in order if graph.node(n).type in RECURRENT), tuple(boundary),
                        state_sources, state_shapes)


def _check_per_step(graph: Graph, node_id: str) -> None:
    node = graph.node(node_id)
    spec = get_spec(node.type)
    if node.type in RECURRENT:
        if node.params.get("bidirectional"):
            raise DecodingError(f"'{node_id}' ({node.type}) on the decoder path reads the sequence backwards "
                                "(bidirectional); a decoder must read it forwards only")
        if not node.params.get("return_sequences", True):
            raise DecodingError(f"'{node_id}' ({node.type}) on the decoder path returns only its last step; "
                                "set return_sequences so that every step is scored")
        return
    if node.type in _PER_STEP or (spec is not None and spec.category == "Activation"
                                  and node.type not in _GROUPS_DIM_0):
        return
    if node.type == "Maxout":
        raise DecodingError(f"'{node_id}' (Maxout) on the decoder path takes the maximum over groups of dim 0, "
                            "which for a (T, F) sequence are time steps; step-by-step decoding needs layers that "
                            "act on each step (a Linear, then an elementwise activation)")
    if node.type in _PER_STEP_DIM and int(node.params.get("dim", 0)) >= 1:
        return
    raise DecodingError(f"'{node_id}' ({node.type}) on the decoder path mixes time steps; step-by-step "
                        "decoding needs layers that act on each step (Embedding, Linear, recurrent layers, "
                        "activations, Add, Concat on features)")


def step_graph(graph: Graph, analysis: Analysis, split: DecoderSplit) -> tuple[Graph, list[str], list[str]]:
    """The decoder step as a graph: Inputs (token, context values, states), Outputs (logits,
    final states). Returns it with its context Input ids and state Input ids, in argument order."""
    step = Graph(f"{graph.name} decoder step")
    source = graph.node(split.decoder_input)
    step.create_node("Input", {**source.params, "shape": [1]}, node_id=split.decoder_input)
    taken = set(graph.nodes)

    def new_id(stem: str) -> str:
        candidate, k = stem, 1
        while candidate in taken:
            k += 1
            candidate = f"{stem}_{k}"
        taken.add(candidate)
        return candidate

    context_ids = []
    for k, feed in enumerate(split.boundary):
        shape = analysis.info(feed.node).port_shape(feed.port)
        dtype = "int64" if analysis.info(feed.node).dtype == "int64" else "float32"
        context_ids.append(new_id(f"context_{k}"))
        step.create_node("Input", {"shape": list(shape), "dtype": dtype}, node_id=context_ids[-1])
    state_ids: list[str] = []
    state_inputs: dict[str, list[str]] = {}
    for node_id in split.recurrent:
        shape, count = split.state_shapes[node_id]
        names = ("h0", "c0")[:count]
        state_inputs[node_id] = [new_id(f"{node_id}_{name}") for name in names]
        for sid in state_inputs[node_id]:
            step.create_node("Input", {"shape": list(shape)}, node_id=sid)
        state_ids += state_inputs[node_id]
    for node_id in split.decoder_nodes:
        node = graph.node(node_id)
        step.create_node(node.type, dict(node.params), node_id=node_id)
    for node_id in split.decoder_nodes:
        states = split.state_shapes.get(node_id, (None, 0))[1]
        for port, feed in enumerate(analysis.input_values(node_id)):
            if 1 <= port <= states:
                continue
            if feed is None:
                continue
            if feed.node in split.decoder_nodes or feed.node == split.decoder_input:
                step.connect(feed.node, node_id, port=port, source_port=feed.port)
            else:
                step.connect(context_ids[split.boundary.index(feed)], node_id, port=port)
        for k, sid in enumerate(state_inputs.get(node_id, [])):
            step.connect(sid, node_id, port=1 + k)
    for node_id in split.recurrent:
        for k in range(split.state_shapes[node_id][1]):
            out = new_id(f"{node_id}_{('h_n', 'c_n')[k]}")
            step.create_node("Output", {}, node_id=out)
            step.connect(node_id, out, source_port=1 + k)
    return step, context_ids, state_ids


def context_graph(graph: Graph, analysis: Analysis, split: DecoderSplit) -> Graph:
    """The context (encoder) part as a graph whose Outputs are the boundary values, in order."""
    digraph = analysis.wiring.digraph
    needed: set[str] = set()
    for feed in split.boundary:
        needed |= nx.ancestors(digraph, feed.node) | {feed.node}
    context = Graph(f"{graph.name} encoder")
    for node_id in analysis.order:
        if node_id in needed or node_id in split.context_inputs:
            node = graph.node(node_id)
            context.create_node(node.type, dict(node.params), node_id=node_id)
    for node_id in analysis.order:
        if node_id not in needed:
            continue
        for port, feed in enumerate(analysis.input_values(node_id)):
            if feed is not None:
                context.connect(feed.node, node_id, port=port, source_port=feed.port)
    taken = set(graph.nodes)
    for k, feed in enumerate(split.boundary):
        out = f"boundary_{k}"
        while out in taken:
            out += "_"
        taken.add(out)
        context.create_node("Output", {}, node_id=out)
        context.connect(feed.node, out, source_port=feed.port)
    return context


def _share_modules(target: fx.GraphModule, model: torch.nn.Module, node_ids: Sequence[str]) -> None:
    """Make ``target`` compute with ``model``'s own layers (the same parameters)."""
    for node_id in node_ids:
        if hasattr(target, node_id) and hasattr(model, node_id):
            setattr(target, node_id, getattr(model, node_id))


@dataclass
class DecoderState:
    """Where decoding has got to: the context values and each recurrent node's state,
    batch first. :meth:`select` reorders the batch (beam search keeps its best rows)."""

    context: tuple[torch.Tensor, ...]
    states: tuple[torch.Tensor, ...]

    def select(self, rows: torch.Tensor) -> "DecoderState":
        return DecoderState(tuple(c.index_select(0, rows) for c in self.context),
                            tuple(s.index_select(0, rows) for s in self.states))

    def repeat(self, times: int) -> "DecoderState":
        return DecoderState(tuple(c.repeat_interleave(times, 0) for c in self.context),
                            tuple(s.repeat_interleave(times, 0) for s in self.states))


#: steps of at most this many tokens run the recurrent layers without oneDNN (see _few_steps)
FEW_STEPS = 4


@contextlib.contextmanager
def _few_steps(device: torch.device, steps: int) -> Iterator[None]:
    """On the CPU torch runs an LSTM/GRU through oneDNN, which builds its kernel anew for every
    call: about 3 ms on the 2-core VM, more than 30 steps of a long sequence cost inside one
    call. For one step at a time torch's own kernel is ~10× faster, so it is used there."""
    if device.type != "cpu" or steps > FEW_STEPS:
        yield
        return
    enabled = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(False)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(enabled)


class IncrementalDecoder:
    """Runs a graph's decoder one step at a time with the trained ``model``'s layers.

    ``start(*context_inputs)`` runs the encoder once; ``step(tokens, state)`` feeds tokens
    (B, t) — one per sample, or a whole prompt — and returns the logits (B, t, V) and the
    state after them. Computing with shared layers, it follows the model's train/eval mode.
    """

    def __init__(self, model: torch.nn.Module, graph: Graph, analysis: Analysis | None = None,
                 decoder_input: str | None = None, output_id: str | None = None):
        analysis = analysis or checked_analysis(graph)
        self.graph = graph
        self.split = split_decoder(graph, analysis, decoder_input, output_id)
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        self.dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        step, self._context_ids, self._state_ids = step_graph(graph, analysis, self.split)
        try:
            self.step_module = compile_graph(step, device)
        except CompileError as error:
            raise DecodingError(f"the decoder of {graph.name!r} cannot run one step at a time: {error}") from None
        self.step_module.to(self.dtype)
        _share_modules(self.step_module, model, self.split.decoder_nodes)
        self.context_module: fx.GraphModule | None = None
        if self.split.has_context:
            context = context_graph(graph, analysis, self.split)
            self.context_module = compile_graph(context, device)
            self.context_module.to(self.dtype)
            _share_modules(self.context_module, model, list(context.nodes))
        self.device = device
        self._state_plan = [(r, *self.split.state_shapes[r]) for r in self.split.recurrent]

    def start(self, *context_inputs: torch.Tensor, batch: int | None = None) -> DecoderState:
        """Run the encoder on the context Inputs (in file order); a model without one needs ``batch``."""
        split = self.split
        if self.context_module is not None:
            if len(context_inputs) != len(split.context_inputs):
                raise ValueError(f"the encoder takes {len(split.context_inputs)} input(s) "
                                 f"({', '.join(split.context_inputs)}), got {len(context_inputs)}")
            values = self.context_module(*context_inputs)
            context = tuple(values) if isinstance(values, tuple) else (values,)
            batch = context[0].shape[0]
        else:
            context = ()
            if batch is None:
                batch = 1
        states = []
        for node_id, shape, count in self._state_plan:
            for k, source in enumerate(split.state_sources[node_id]):
                if source is None:
                    states.append(torch.zeros((batch, *shape), device=self.device, dtype=self.dtype))
                else:
                    states.append(context[source])
        return DecoderState(context, tuple(states))

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Logits (B, t, V) for ``tokens`` (B, t) and the state after them."""
        with _few_steps(self.device, tokens.shape[1]):
            results = self.step_module(tokens, *state.context, *state.states)
        if not isinstance(results, tuple):
            results = (results,)
        return results[0], DecoderState(state.context, tuple(results[1:]))

    @property
    def encoder_state_nodes(self) -> list[str]:
        return self.split.connected_states
