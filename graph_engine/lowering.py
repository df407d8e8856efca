"""What the compiler and the code exporter share: the live nodes in order, and names.

Both walk :func:`live_nodes` and call each layer's forward rule through a builder,
so the compiled module and the exported source always have the same structure and
the same ``state_dict`` keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx

from graph_engine.analysis import Analysis, analyze
from graph_engine.model import Graph
from graph_engine.registry import LayerSpec, get_spec
from graph_engine.source_text import class_identifier


class CompileError(ValueError):
    """The graph has errors and cannot become a module."""


@dataclass(frozen=True)
class LiveNode:
    """One node that contributes to the output, with what lowering needs of it."""

    id: str
    spec: LayerSpec
    params: dict
    in_shapes: list[tuple[int, ...]]
    inputs: list[str]


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
    """Nodes on a path to the Output, in topological order (dead branches are dropped)."""
    output = next(n.id for n in graph if get_spec(n.type).role == "output")
    live = nx.ancestors(analysis.wiring.digraph, output) | {output}
    result = []
    for node_id in analysis.order:
        if node_id not in live:
            continue
        node = graph.nodes[node_id]
        info = analysis.info(node_id)
        result.append(LiveNode(node_id, get_spec(node.type), node.params,
                               list(info.in_shapes or ()), analysis.input_values(node_id)))
    return result


def class_name(graph_name: str) -> str:
    """``"LeNet-5"`` -> ``"LeNet5"``: a Python class name for the generated module."""
    return class_identifier(graph_name)
