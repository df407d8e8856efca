"""What the compiler and the code exporter share: the live nodes in order, and names.

Both walk :func:`live_nodes` and call each layer's forward rule through a builder,
so the compiled module and the exported source always have the same structure and
the same ``state_dict`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from graph_engine.analysis import Analysis, analyze
from graph_engine.errors import CompileError
from graph_engine.model import Graph
from graph_engine.registry import LayerSpec, get_spec
from graph_engine.source_text import class_identifier
from graph_engine.traversal import Feed


@dataclass(frozen=True)
class LiveNode:
    """One node that contributes to an output, with what lowering needs of it."""

    id: str
    spec: LayerSpec
    params: dict
    #: one per input port; None for an unconnected optional port
    in_shapes: list[tuple[int, ...] | None]
    #: what feeds each input port, in port order; None for an unconnected optional port
    inputs: list[Feed | None]
    #: the output ports that edges use (a lowering may skip computing the others)
    used_outputs: frozenset[int]


def checked_analysis(graph: Graph) -> Analysis:
    """Analyze ``graph``; raise CompileError naming the first errors if it has any."""
    analysis = analyze(graph)
    if not analysis.ok:
        errors = analysis.errors
        first = "; ".join(str(d) for d in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise CompileError(f"graph {graph.name!r} has {len(errors)} error"
                           f"{'s' if len(errors) > 1 else ''}: {first}{more}")
    return analysis


def live_nodes(graph: Graph, analysis: Analysis) -> list[LiveNode]:
    """Nodes on a path to an Output, in topological order (dead branches are dropped).

    Every Input is live, even one no Output needs: the module's arguments are all the
    graph's Inputs, in file order. A block use is built whole (its class computes every
    output the definition has), so everything inside a used block is live."""
    live = set(analysis.input_ids)
    for output in analysis.output_ids:
        live |= nx.ancestors(analysis.wiring.digraph, output) | {output}
    used = {node_id.split(".")[0] for node_id in live if "." in node_id}
    live |= {node_id for node_id in graph.nodes if node_id.split(".")[0] in used}  # a block use is one unit
    result = []
    for node_id in analysis.order:
        if node_id not in live:
            continue
        node = graph.nodes[node_id]
        info = analysis.info(node_id)
        used = frozenset(analysis.wiring.used_outputs.get(node_id, ()))
        result.append(LiveNode(node_id, get_spec(node.type), node.params, list(info.in_shapes or ()),
                               analysis.input_values(node_id), used))
    return result


def output_values(spec: LayerSpec, value: Any) -> list[Any]:
    """A forward rule's result as one value per output port."""
    return list(value) if spec.multi_output else [value]


def class_name(graph_name: str) -> str:
    """``"LeNet-5"`` -> ``"LeNet5"``: a Python class name for the generated module."""
    return class_identifier(graph_name)
