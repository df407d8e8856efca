"""The wiring after an edit, from the wiring before it: cost that follows the edit.

:func:`~graph_engine.traversal.wire` indexes every edge and sorts every node; on a
10,000-node graph that is most of what adding one node costs the editor. An edit changes
the edges of a few nodes only, so their entries are rebuilt (in edge order, as ``wire``
builds them) and the topological ranks are repaired where a new edge points backwards,
with Pearce and Kelly's dynamic topological sort ("A dynamic topological sort algorithm
for directed acyclic graphs", JEA 2007): only the nodes between the edge's two ends move.
A graph with a cycle, before or after, goes back to ``wire``, which names the cycles.
"""

from __future__ import annotations

import random

from graph_engine.model import Edge, Graph
from graph_engine.traversal import Feed, Wiring


def rewire(previous: Wiring, graph: Graph, nodes_added: set[str], nodes_removed: set[str],
           edges_added: set[Edge], edges_removed: set[Edge]) -> Wiring | None:
    """``previous`` updated for the nodes and edges an edit added and removed (net), or
    None where only a full :func:`~graph_engine.traversal.wire` will do (cycles)."""
    if previous.cycles or any(e.source == e.target for e in edges_added):
        return None
    inputs, successors = dict(previous.inputs), dict(previous.successors)
    predecessors, used = dict(previous.predecessors), dict(previous.used_outputs)
    position, end = dict(previous.position), previous.end
    for node_id in nodes_removed:
        for index in (inputs, successors, predecessors, used, position):
            index.pop(node_id, None)
    for node_id in graph.nodes if len(nodes_added) > 8 else nodes_added:
        if node_id in nodes_added:  # in file order: a pasted group ranks as a full wire ranks it
            successors[node_id], predecessors[node_id] = {}, {}
            position[node_id], end = end, end + 1
    ends = {n for e in edges_added | edges_removed for n in (e.source, e.target) if n in graph.nodes}
    _reindex(graph, ends, inputs, successors, predecessors, used)
    for node_id in nodes_added:
        _rank_between(node_id, position, predecessors, successors)
    pending = {(e.source, e.target) for e in edges_added
               if e.source in graph.nodes and e.target not in previous.successors.get(e.source, ())}
    for source, target in list(pending):
        pending.discard((source, target))
        if position[target] < position[source] and not _repair(position, successors, predecessors, pending,
                                                                source, target):
            return None  # the edge closed a cycle
    return Wiring(inputs=inputs, successors=successors, cycles=[], used_outputs=used, position=position,
                  predecessors=predecessors, end=end)


def _reindex(graph: Graph, ends: set[str], inputs: dict, successors: dict, predecessors: dict, used: dict) -> None:
    """The entries of ``ends`` built again from the graph's edges, in edge order."""
    if not ends:
        return
    fresh_inputs: dict[str, dict[int, list[Feed]]] = {n: {} for n in ends}
    fresh_successors: dict[str, dict[str, None]] = {n: {} for n in ends}
    fresh_predecessors: dict[str, dict[str, None]] = {n: {} for n in ends}
    fresh_used: dict[str, set[int]] = {}
    for edge in graph.edges:
        if edge.target in fresh_inputs:
            fresh_inputs[edge.target].setdefault(edge.port, []).append(Feed(edge.source, edge.source_port))
            fresh_predecessors[edge.target][edge.source] = None
        if edge.source in fresh_successors:
            fresh_successors[edge.source][edge.target] = None
            fresh_used.setdefault(edge.source, set()).add(edge.source_port)
    for node_id in ends:
        successors[node_id], predecessors[node_id] = fresh_successors[node_id], fresh_predecessors[node_id]
        for index, fresh in ((inputs, fresh_inputs.get(node_id)), (used, fresh_used.get(node_id))):
            if fresh:
                index[node_id] = fresh
            else:
                index.pop(node_id, None)


def _rank_between(node_id: str, position: dict, predecessors: dict, successors: dict) -> None:
    """A new node's rank: between the nodes that feed it and those it feeds where they leave
    room (an inserted layer moves nothing), else it stays last and the repair moves what must.
    Ranks stay distinct: a fraction drawn from the node's id lands between two others."""
    before = [position[n] for n in predecessors.get(node_id, ()) if n in position]
    after = [position[n] for n in successors.get(node_id, ()) if n in position]
    if not after:
        return
    low, high = max(before, default=None), min(after)
    share = random.Random(node_id).uniform(0.25, 0.75)  # off the grid: no other node has it
    rank = high - share if low is None else low + (high - low) * share
    if (low is None or low < rank) and rank < high:
        position[node_id] = rank


def _repair(position: dict[str, float], successors: dict, predecessors: dict, pending: set[tuple[str, str]],
            source: str, target: str) -> bool:
    """Pearce–Kelly: ranks for the new edge ``source -> target`` (which points backwards),
    moving only the nodes whose ranks lie between the two ends; False if it closes a cycle.
    Edges still ``pending`` are not followed: the ranks need not respect them yet."""
    upper, lower = position[source], position[target]
    ahead = _search(target, successors, pending, lambda n: position[n] <= upper, forward=True)
    if source in ahead:
        return False
    behind = _search(source, predecessors, pending, lambda n: position[n] >= lower, forward=False)
    moved = sorted(behind, key=position.__getitem__) + sorted(ahead, key=position.__getitem__)
    for node_id, rank in zip(moved, sorted(position[n] for n in moved)):
        position[node_id] = rank
    return True


def _search(start: str, neighbours: dict, pending: set[tuple[str, str]], inside, forward: bool) -> set[str]:
    """``start`` and the nodes reachable from it through ``neighbours`` that stay ``inside``."""
    seen = {start}
    stack = [start]
    while stack:
        node_id = stack.pop()
        for other in neighbours[node_id]:
            edge = (node_id, other) if forward else (other, node_id)
            if other not in seen and edge not in pending and inside(other):
                seen.add(other)
                stack.append(other)
    return seen


__all__ = ["rewire"]
