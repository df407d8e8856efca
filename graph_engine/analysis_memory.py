"""The analyses of a graph's most recent states, found again when an undo or redo returns to one.

Undoing an edit that changed the shapes of 5,000 nodes restores what they were; re-inferring
them cost more than anything else in the undo. The graph's nodes and edges are immutable
objects, and an undo puts back the very objects its command kept, so a state the graph was in
is recognised by the identities of what it holds (``Graph.held``), and its analysis, made then,
is valid again as it was. The objects are kept with the analysis, so their identities cannot be
given to new objects meanwhile.
"""

from __future__ import annotations

from typing import Callable

from graph_engine.analysis import Analysis
from graph_engine.model import Graph

#: states remembered (the current one, and the ones an undo or two would return to)
SIZE = 4


class AnalysisMemory:
    """Analyses by the graph state they were made for, the newest few."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._kept: list[tuple[tuple[int, ...], tuple, Analysis]] = []

    def analysis_for(self, graph: Graph, make: Callable[[], Analysis]) -> Analysis:
        """The analysis made when ``graph`` held exactly what it holds now, if remembered; else
        ``make()``'s, remembered (what the graph holds is read once: 20,000 objects for a big one)."""
        held = graph.held()
        if held is None:
            return make()
        identity = _identity(held)
        for entry in self._kept:
            if entry[0] == identity and entry[2].graph is graph:
                self._kept.remove(entry)
                self._kept.append(entry)  # the newest again: the state an undo leaves is kept longest
                return entry[2]
        analysis = make()
        self._kept = self._kept[-(self.size - 1):] + [(identity, held, analysis)]
        return analysis

    def keep(self, graph: Graph, analysis: Analysis) -> None:
        """Remember ``analysis`` as the one of what ``graph`` holds now (forgetting the others)."""
        held = graph.held()
        self._kept = [] if held is None else [(_identity(held), held, analysis)]


def _identity(held: tuple[tuple, tuple]) -> tuple[int, ...]:
    nodes, edges = held
    return (len(nodes), *map(id, nodes), *map(id, edges))  # (the count: where nodes end, edges begin)


__all__ = ["AnalysisMemory"]
