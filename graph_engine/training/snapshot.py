"""The network a run trains, frozen once: a graph copy, its analysis and its signature.

The app makes one :class:`RunSnapshot` when a run starts and hands it to the training
child as it is (pickled by the spawn context), so the child neither parses the graph
again nor re-analyses it: the dataset fit, the trainer and the compiler all reuse the
one analysis. Nothing may edit ``graph``; the live document is a different object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from graph_engine.analysis import Analysis
from graph_engine.lowering import checked_analysis
from graph_engine.model import Graph


def network_signature(graph: Graph, rename: Callable[[str], str] | None = None) -> str:
    """What makes the trained network: node types and parameters, and the wiring (moving
    a node or changing the next run's settings does not change it). ``rename`` gives the
    top-level nodes other ids (a run's graph as the document names its nodes since)."""
    name = rename or (lambda node_id: node_id)
    nodes = sorted((name(n.id), n.type, json.dumps(n.params, sort_keys=True, default=str)) for n in graph)
    edges = sorted((name(e.source), name(e.target), e.port, e.source_port) for e in graph.edges)
    blocks = {name: network_signature(d.graph) + json.dumps([(p.name, p.default) for p in d.params], default=str)
              for name, d in sorted(graph.blocks.items())}
    return json.dumps([nodes, edges, blocks])


@dataclass(frozen=True)
class RunSnapshot:
    """See the module docstring."""

    graph: Graph
    #: the checked analysis of ``graph`` (it has no errors)
    analysis: Analysis
    #: :func:`network_signature` of ``graph``
    signature: str

    @classmethod
    def of(cls, graph: "Graph | RunSnapshot", copy: bool = True) -> "RunSnapshot":
        """A snapshot of ``graph``, analysed once; a snapshot is returned as it is.

        ``copy=False`` takes a graph nobody else holds (just read from a file) as it is.
        Raises CompileError (a ValueError) when the graph has errors."""
        if isinstance(graph, RunSnapshot):
            return graph
        frozen = graph.copy() if copy else graph
        return cls(frozen, checked_analysis(frozen), network_signature(frozen))
