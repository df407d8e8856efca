"""Graph -> torch.fx.GraphModule, built directly (no tracing).

Each node with a module becomes a submodule named by its id (parameters are
``"{node_id}.{name}"``); the fx graph is straight-line code that ``recompile()``
turns into Python, so running the network costs what a hand-written module costs.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import torch
from torch import fx, nn

from graph_engine.analysis import Analysis
from graph_engine.lowering import checked_analysis, class_name, live_nodes, output_values
from graph_engine.memory import check_fits, estimate
from graph_engine.model import Graph
from graph_engine.registry import resolve_function
from graph_engine.traversal import Feed
from graph_engine.weight_init import apply_plan, init_plan


#: key in GraphModule.meta of {graph node id: name of the fx node holding its output}
NODE_KEY = "rosenblatt_nodes"


class _FxBuilder:
    """Emits fx nodes for a layer's forward rule, named after the graph node."""

    def __init__(self, graph: fx.Graph):
        self.graph = graph
        self.node_id = ""

    def _node(self, op: str, target: Any, args: tuple, kwargs: dict | None = None) -> fx.Node:
        return self.graph.create_node(op, target, args, kwargs or {}, name=self.node_id)

    def module(self, *inputs: fx.Node, **named_inputs: fx.Node) -> fx.Node:
        return self._node("call_module", self.node_id, inputs, named_inputs)

    def parameter(self, batch: fx.Node, rank: int) -> fx.Node:
        tensor = self._node("get_attr", self.node_id, ())
        size = self._node("call_method", "size", (batch, 0))
        return self._node("call_method", "expand", (tensor, size, *[-1] * rank))

    def function(self, path: str, *args: Any, **kwargs: Any) -> fx.Node:
        return self._node("call_function", resolve_function(path), args, kwargs)

    def method(self, value: fx.Node, name: str, *args: Any) -> fx.Node:
        return self._node("call_method", name, (value, *args))

    def add(self, left: fx.Node, right: fx.Node) -> fx.Node:
        return self._node("call_function", operator.add, (left, right))

    def cat(self, values: Sequence[fx.Node], dim: int) -> fx.Node:
        return self._node("call_function", torch.cat, (list(values),), {"dim": dim})

    def getitem(self, value: fx.Node, index: Any) -> fx.Node:
        return self._node("call_function", operator.getitem, (value, index))

    def pack(self, values: Sequence[fx.Node]) -> tuple:
        return tuple(values)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" picks CUDA when available, then Apple's MPS, then the CPU."""
    if str(device) != "auto":
        chosen = torch.device(device)
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA is not available on this machine; use device 'cpu' or 'auto'")
        mps = getattr(torch.backends, "mps", None)
        if chosen.type == "mps" and not (mps is not None and mps.is_available()):
            raise ValueError("Apple MPS is not available on this machine; use device 'cpu' or 'auto'")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def compile_graph(graph: Graph, device: str | torch.device = "auto",
                  analysis: Analysis | None = None) -> fx.GraphModule:
    """Build the network as an ``fx.GraphModule`` on ``device``.

    ``analysis``: the graph's checked analysis, when the caller has one (a run's snapshot),
    so it is not analysed again. Raises CompileError (from ``graph_engine.lowering``)
    when the graph has errors, and ``memory.TooLarge`` before allocating parameters that
    cannot fit in this machine's memory.
    """
    # blocks: compile the expansion (module paths follow the nesting)
    analysis = (analysis or checked_analysis(graph)).compiled()
    plan = init_plan(graph, analysis)  # the graph's training.init default lives on the top graph
    graph = analysis.graph
    check_fits(estimate(analysis).parameter_bytes, f"{graph.name!r}'s parameters")
    fx_graph = fx.Graph()
    builder = _FxBuilder(fx_graph)
    modules: dict[str, nn.Module] = {}
    values: dict[Feed, Any] = {Feed(node_id): fx_graph.placeholder(node_id) for node_id in analysis.input_ids}
    results: dict[str, Any] = {}
    for live in live_nodes(graph, analysis):
        builder.node_id = live.id
        if live.spec.role == "input":
            continue
        if live.spec.module is not None:
            modules[live.id] = live.spec.module(live.params, live.in_shapes).build()
        inputs = [None if feed is None else values[feed] for feed in live.inputs]
        produced = live.spec.forward(builder, inputs, live.params, live.in_shapes)
        if live.spec.role == "output":
            results[live.id] = produced
        for port, value in enumerate(output_values(live.spec, produced)):
            values[Feed(live.id, port)] = value
    apply_plan(modules, plan)  # after torch's own init of every module, as the exported code does
    outputs = [results[node_id] for node_id in analysis.output_ids]
    fx_graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    module = fx.GraphModule(modules, fx_graph, class_name=class_name(graph.name))
    if module.graph.eliminate_dead_code():  # output ports no edge uses
        module.recompile()
    kept = {node.name for node in fx_graph.nodes}
    module.meta[NODE_KEY] = {feed.node: value.name for feed, value in values.items()
                             if feed.port == 0 and isinstance(value, fx.Node) and value.name in kept}
    return module.to(resolve_device(device))


def node_module(model: nn.Module, node_id: str) -> nn.Module | None:
    """The submodule that holds ``node_id``'s parameters, None when it has none. A node inside
    a block has a dotted id ("stage1.conv1"), a nested submodule: ``getattr`` would miss it."""
    try:
        return model.get_submodule(node_id)
    except AttributeError:
        return None


def node_values(module: fx.GraphModule) -> dict[str, fx.Node]:
    """The fx node holding each graph node's output value, by graph node id."""
    by_name = {n.name: n for n in module.graph.nodes}
    return {node_id: by_name[name] for node_id, name in module.meta[NODE_KEY].items()}


def tap(module: fx.GraphModule, node_ids: Sequence[str]) -> fx.GraphModule:
    """A module sharing ``module``'s layers whose forward returns ``{node_id: output}``.

    Only what the tapped outputs need is computed (the rest is dead code), so tapping an
    early convolution costs less than a full forward pass. This is how probes read
    activations without hooks in the training module.
    """
    graph = fx.Graph(owning_module=module)  # its layers say which calls are pure
    mapping: dict[fx.Node, fx.Node] = {}
    graph.graph_copy(module.graph, mapping)
    copied = {node_id: mapping[node] for node_id, node in node_values(module).items()}
    missing = [n for n in node_ids if n not in copied]
    if missing:
        raise KeyError(f"no compiled output for node(s): {', '.join(missing)}")
    graph.output({node_id: copied[node_id] for node_id in node_ids})
    # dead code goes before the module is made: it then copies only the layers it calls and
    # generates its code once (a probe's tap is built once per node set and run)
    graph.eliminate_dead_code()
    return fx.GraphModule(module, graph, class_name=f"{type(module).__name__}Tap")
