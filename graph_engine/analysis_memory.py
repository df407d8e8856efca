"""The analyses of a graph's most recent states, found again when an undo or redo returns to one.

Undoing an edit that changed the shapes of 5,000 nodes restores what they were; re-inferring
them cost more than anything else in the undo. The graph's nodes and edges are immutable
objects, and an undo puts back the very objects its command kept, so a state the graph was in
is recognised by the identities of what it holds (``Graph.held``), and its analysis, made then,
is valid again as it was. The objects are kept with the analysis, so their identities cannot be
given to new objects meanwhile.
"""

from __future__ import annotations

from graph_engine.analysis import Analysis
from graph_engine.model import Graph

#: states remembered (the current one, and the ones an undo or two would return to)
SIZE = 4


class AnalysisMemory:
    """Analyses by the graph state they were made for, the newest few."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._kept: list[tuple[tuple[int, ...], tuple, Analysis]] = []

    def recall(self, graph: Graph) -> Analysis | None:
        """The analysis made when ``graph`` held exactly what it holds now, if remembered."""
        held = graph.held()
        if held is None:
            return None
        identity = _identity(held)
        for kept_identity, _held, analysis in self._kept:
            if kept_identity == identity and analysis.graph is graph:
                return analysis
        return None

    def keep(self, graph: Graph, analysis: Analysis) -> None:
        """Remember ``analysis`` as the one of what ``graph`` holds now."""
        held = graph.held()
        if held is None:
            return
        identity = _identity(held)
        self._kept = [entry for entry in self._kept if entry[0] != identity][-(self.size - 1):]
        self._kept.append((identity, held, analysis))

    def clear(self) -> None:
        self._kept = []


def _identity(held: tuple[tuple, tuple]) -> tuple[int, ...]:
    nodes, edges = held
    return (len(nodes), *map(id, nodes), *map(id, edges))


__all__ = ["AnalysisMemory"]
