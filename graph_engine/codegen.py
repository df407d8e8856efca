"""Graph -> readable, standalone PyTorch source (imports only torch).

The class has one attribute per module node, named by node id, so its
``state_dict`` keys equal :func:`compile_graph`'s and weights move freely between them.
"""

from __future__ import annotations

from typing import Any, Sequence

import networkx as nx

from graph_engine.analysis import shape_text
from graph_engine.codegen_blocks import BlockCode, Call
from graph_engine.lowering import checked_analysis, class_name, live_nodes, output_values
from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.source_text import fresh_name, py_identifier, py_index, py_literal, source_comment
from graph_engine.traversal import Feed
from graph_engine.weight_init import init_plan, plan_code


class _CodeBuilder:
    """Emits Python lines for a layer's forward rule. Module calls are always assigned
    to a variable (never computed twice); indexing and method calls stay inline."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.node_id = ""
        #: how many leading positional arguments are values (variable names), not literals
        self.value_args = 1
        self.uses_functional = False

    def module(self, *inputs: str, **named_inputs: str) -> str:
        arguments = [*inputs, *(f"{py_identifier(k)}={v}" for k, v in named_inputs.items())]
        self.lines.append(f"{self.node_id} = self.{self.node_id}({', '.join(arguments)})")
        return self.node_id

    def parameter(self, batch: str, rank: int) -> str:
        return f"self.{self.node_id}.expand({', '.join([f'{batch}.size(0)'] + ['-1'] * rank)})"

    def function(self, path: str, *args: Any, **kwargs: Any) -> str:
        name = path.replace("torch.nn.functional.", "F.", 1)
        self.uses_functional |= name.startswith("F.")
        parts = [a if i < self.value_args else py_literal(a) for i, a in enumerate(args)]
        parts += [f"{k}={py_literal(v)}" for k, v in kwargs.items()]
        self.lines.append(f"{self.node_id} = {name}({', '.join(parts)})")
        return self.node_id

    def method(self, value: str, name: str, *args: Any) -> str:
        return f"{value}.{name}({', '.join(py_literal(a) for a in args)})"

    def add(self, left: str, right: str) -> str:
        # one statement per sum: an Add of thousands of inputs must not nest one expression
        # deeper than Python's parser goes
        self.lines.append(f"{self.node_id} = {left} + {right}")
        return self.node_id

    def cat(self, values: Sequence[str], dim: int) -> str:
        return f"torch.cat([{', '.join(values)}], dim={dim})"

    def getitem(self, value: str, index: Any) -> str:
        return f"{value}[{py_index(index)}]"

    def pack(self, values: Sequence[str]) -> str:
        return f"({', '.join(values)},)" if len(values) == 1 else f"({', '.join(values)})"


def _lower_layer(flat, builder: _CodeBuilder, node_id: str, flat_id: str, inputs: list, taken: set[str]
                 ) -> tuple:
    """One layer inside a block use: its constructor (or None) and one value per output port."""
    node, info = flat.graph.nodes[flat_id], flat.info(flat_id)
    spec = get_spec(node.type)
    in_shapes = list(info.in_shapes or ())
    call = None
    if spec.module is not None:
        made = spec.module(node.params, in_shapes)
        if hasattr(made, "cls"):
            call = Call(f"nn.{py_identifier(made.cls)}", tuple(_plain(a) for a in made.args),
                        tuple((k, _plain(v)) for k, v in made.kwargs))
        else:  # a constructor with its own code (Parameter): used as it is
            call = Call(made.code(), raw=True)
    builder.node_id = py_identifier(node_id)
    builder.value_args = len(inputs)
    produced = spec.forward(builder, inputs, node.params, in_shapes)
    if not spec.multi_output:
        if produced != node_id:
            builder.lines.append(f"{node_id} = {produced}")
        return call, [node_id]
    values = []
    for port, value in enumerate(output_values(spec, produced)):
        variable = _fresh(f"{node_id}_{spec.outputs[port].name}", taken)
        builder.lines.append(f"{variable} = {value}")
        values.append(variable)
    return call, values


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _code_with_blocks(graph: Graph, analysis) -> str:
    """A graph with blocks: one class per block definition (see codegen_blocks)."""
    flat = analysis.flat
    name = class_name(graph.name)  # reserved first: train.py names this class
    code = BlockCode(flat, graph.blocks, lambda b, n, f, i, t: _lower_layer(flat, b, n, f, i, t), {name})
    live = set(analysis.input_ids)
    for output in analysis.output_ids:
        live |= nx.ancestors(analysis.wiring.digraph, output) | {output}
    top = code.scope(graph, "", _CodeBuilder, live=live)
    classes = "\n\n".join(code.classes())
    init = "\n".join(f"        {line}" for line in [*code.render_init(top), *_init_lines(graph, analysis)]) \
        or "        pass"
    forward = "\n".join(f"        {line}" for line in top.forward)
    return _module_text(graph, analysis, name, init, forward, top.inputs, len(top.returned),
                        code.uses_functional, classes)


def generate_code(graph: Graph) -> str:
    """The source of a module file equivalent to ``compile_graph(graph)``."""
    analysis = checked_analysis(graph)
    if analysis.flat is not None:
        return _code_with_blocks(graph, analysis)
    name = class_name(graph.name)
    init: list[str] = []
    builder = _CodeBuilder()
    values: dict[Feed, str] = {}
    results: dict[str, str] = {}
    taken = set(graph.nodes)
    for live in live_nodes(graph, analysis):
        builder.node_id = py_identifier(live.id)
        info = analysis.info(live.id)
        if live.spec.role == "input":
            values[Feed(live.id)] = live.id
            continue
        if live.spec.module is not None:
            constructor = live.spec.module(live.params, live.in_shapes).code()
            shapes = " | ".join(shape_text(s) for s in info.out_shapes or ())
            init.append(f"self.{live.id} = {constructor}  # -> {shapes}")
        builder.value_args = len(live.inputs)
        inputs = [None if feed is None else values[feed] for feed in live.inputs]
        produced = live.spec.forward(builder, inputs, live.params, live.in_shapes)
        if live.spec.role == "output":
            results[live.id] = produced
        elif not live.spec.multi_output:
            if produced != live.id:
                builder.lines.append(f"{live.id} = {produced}")
            values[Feed(live.id)] = live.id
        else:
            for port, value in enumerate(output_values(live.spec, produced)):
                if port in live.used_outputs:
                    variable = _fresh(f"{live.id}_{live.spec.outputs[port].name}", taken)
                    builder.lines.append(f"{variable} = {value}")
                    values[Feed(live.id, port)] = variable
    returned = [results[node_id] for node_id in analysis.output_ids]
    builder.lines.append(f"return {', '.join(returned)}")
    init += _init_lines(graph, analysis)
    body = "\n".join(f"        {line}" for line in init) or "        pass"
    forward = "\n".join(f"        {line}" for line in builder.lines)
    return _module_text(graph, analysis, name, body, forward, analysis.input_ids, len(returned),
                        builder.uses_functional, "")


def _init_lines(graph: Graph, analysis) -> list[str]:
    """The weight-init calls after every module is built: the compiler runs the same plan."""
    lines = plan_code(init_plan(graph, analysis.compiled()))
    return ["# initial weights: each node's init (or the graph's training.init)", *lines] if lines else []


def _module_text(graph: Graph, analysis, name: str, body: str, forward: str, inputs: list[str], outputs: int,
                 uses_functional: bool, classes: str) -> str:
    """The module file around a model class (and the block classes it uses)."""
    examples = ", ".join(_example(graph.node(i).params, analysis.info(i).out_shape) for i in inputs)
    shown = "out.shape" if outputs == 1 else "[o.shape for o in out]"
    functional = "from torch.nn import functional as F\n" if uses_functional else ""
    blocks = f"\n{classes}\n" if classes else ""
    return f'''"""{name}: generated by Rosenblatt from the graph {source_comment(graph.name)}.

Standalone: needs only PyTorch. Tensors are batch-first; shapes in comments omit the batch.
"""

import torch
from torch import nn
{functional}
{blocks}
class {name}(nn.Module):
    def __init__(self):
        super().__init__()
{body}

    def forward(self, {", ".join(inputs)}):
{forward}


if __name__ == "__main__":
    model = {name}()
    out = model({examples})
    print({shown})
'''


def _example(params: dict, shape: tuple[int, ...]) -> str:
    """A batch of two for an Input: random floats, or token 0 (valid for any vocabulary)."""
    dims = ", ".join(str(d) for d in shape)
    if params.get("dtype") == "int64":
        return f"torch.zeros((2, {dims}), dtype=torch.long)"
    return f"torch.randn(2, {dims})"


def _fresh(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``... if a node id or another variable has it."""
    return py_identifier(fresh_name(name, taken))
