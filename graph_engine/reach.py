"""Which nodes lie on a path from an Input to an Output: kept up to date edit by edit.

A node that no Input reaches, or that reaches no Output, does nothing in the network
(the "off-path" warning). Two searches over the whole graph answer it; after an edit in
an acyclic graph the answer changes only downstream (reached) or upstream (useful) of the
nodes whose edges or roles changed, so :func:`update_reach` re-decides those in
topological order and stops where a node's answer stays the same.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from graph_engine.model import Graph
from graph_engine.registry import get_spec
from graph_engine.traversal import Wiring, reachable


@dataclass(frozen=True)
class Reach:
    """The Input and Output nodes, what the Inputs reach and what reaches an Output."""

    inputs: frozenset[str]
    outputs: frozenset[str]
    reached: frozenset[str]
    useful: frozenset[str]

    def idle(self, graph: Graph) -> list[str]:
        """The nodes off every Input→Output path, in file order."""
        reached, useful = self.reached, self.useful
        return [n for n in graph.nodes if n not in reached or n not in useful]


def _role(graph: Graph, node_id: str) -> str | None:
    spec = get_spec(graph.nodes[node_id].type)
    return spec.role if spec is not None else None


def compute_reach(graph: Graph, wiring: Wiring) -> Reach:
    """The whole answer, by one search from the Inputs and one back from the Outputs."""
    roles: dict[str | None, set[str]] = {"input": set(), "output": set()}
    for node_id in graph.nodes:
        role = _role(graph, node_id)
        if role:
            roles[role].add(node_id)
    return Reach(inputs=frozenset(roles["input"]), outputs=frozenset(roles["output"]),
                 reached=frozenset(reachable(roles["input"], wiring.successors)),
                 useful=frozenset(reachable(roles["output"], wiring.predecessors)))


def update_reach(previous: Reach, graph: Graph, wiring: Wiring, touched: set[str]) -> Reach:
    """``previous`` after an edit that changed the edges, types or presence of ``touched``
    (equal to :func:`compute_reach`; a graph with cycles is searched whole)."""
    if wiring.cycles:
        return compute_reach(graph, wiring)
    inputs, outputs = set(previous.inputs), set(previous.outputs)
    for node_id in touched:
        inputs.discard(node_id)
        outputs.discard(node_id)
        if node_id in graph.nodes:
            role = _role(graph, node_id)
            if role == "input":
                inputs.add(node_id)
            elif role == "output":
                outputs.add(node_id)
    live = [n for n in touched if n in graph.nodes]
    reached = _settle(set(previous.reached) - (touched - graph.nodes.keys()), live, inputs, wiring.predecessors,
                      wiring.successors, wiring.position, 1)
    useful = _settle(set(previous.useful) - (touched - graph.nodes.keys()), live, outputs, wiring.successors,
                     wiring.predecessors, wiring.position, -1)
    return Reach(inputs=frozenset(inputs), outputs=frozenset(outputs), reached=frozenset(reached),
                 useful=frozenset(useful))


def _settle(marked: set[str], starts: list[str], seeds: set[str], sources: dict, targets: dict,
            position: dict[str, int], direction: int) -> set[str]:
    """Re-decide ``starts`` in topological order (``direction`` 1) or its reverse (-1): a
    node is marked when it is a seed or one of its ``sources`` is; a node whose answer
    changed has its ``targets`` re-decided too. Valid in an acyclic graph."""
    queue = [(direction * position[n], n) for n in starts]
    heapq.heapify(queue)
    queued = set(starts)
    while queue:
        _, node_id = heapq.heappop(queue)
        now = node_id in seeds or any(s in marked for s in sources[node_id])
        if now == (node_id in marked):
            continue
        if now:
            marked.add(node_id)
        else:
            marked.discard(node_id)
        for target in targets[node_id]:
            if target not in queued:
                queued.add(target)
                heapq.heappush(queue, (direction * position[target], target))
    return marked


__all__ = ["Reach", "compute_reach", "update_reach"]
