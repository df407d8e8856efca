"""Diagnostics about a graph's structure: never raises on a bad graph.

Shape errors come from the analysis walk (``graph_engine.analysis``); this module
checks what needs no shapes: known types, at least one Input and one Output,
cycles, ports (by name where a layer names them), and nodes off every Input→Output
path. Every loop here is bounded by the graph's size, never by a number in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


from graph_engine.model import Graph
from graph_engine.reach import Reach, compute_reach
from graph_engine.registry import Fix, get_spec
from graph_engine.traversal import Wiring


class Severity(StrEnum):
    """How bad a diagnostic is; the members are the plain strings ``"error"`` and
    ``"warning"`` (equal to them, and printed as them)."""

    ERROR = "error"
    WARNING = "warning"


ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True)
class Diagnostic:
    """One problem: severity, the nodes it concerns, a message and an optional fix."""

    severity: str  #: a :class:`Severity` value
    node_ids: tuple[str, ...]
    message: str
    code: str
    fix: Fix | None = None

    @property
    def node(self) -> str | None:
        return self.node_ids[0] if self.node_ids else None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "nodes": list(self.node_ids), "code": self.code,
                "message": self.message, "fix": self.fix.label if self.fix else None}

    def __str__(self) -> str:
        where = self.node or "graph"
        fix = f" (fix: {self.fix.label})" if self.fix else ""
        return f"{where}: {self.message}{fix}"


def error(code: str, message: str, *node_ids: str, fix: Fix | None = None) -> Diagnostic:
    return Diagnostic(ERROR, tuple(node_ids), message, code, fix)


def warning(code: str, message: str, *node_ids: str) -> Diagnostic:
    return Diagnostic(WARNING, tuple(node_ids), message, code)


def structure_diagnostics(graph: Graph, wiring: Wiring) -> tuple[list[Diagnostic], set[str]]:
    """Structural diagnostics, and the ids of nodes whose ports are wrongly wired."""
    found: list[Diagnostic] = []
    bad_ports: set[str] = set()
    for node in graph:
        problems = node_structure_diagnostics(graph, node.id, wiring)
        found += problems
        if problems and get_spec(node.type) is not None:
            bad_ports.add(node.id)
    return found + graph_structure_diagnostics(graph, wiring), bad_ports


def node_structure_diagnostics(graph: Graph, node_id: str, wiring: Wiring) -> list[Diagnostic]:
    """One node's own structural problems: an unknown type, or its ports wrongly wired (a
    known node with any of these gets no shape). Depends on the node's type, its params
    (the outputs it has), its edges and its sources' params only: an edit elsewhere cannot
    change it, which lets the editor re-check just the nodes an edit touched."""
    node = graph.nodes[node_id]
    spec = get_spec(node.type)
    if spec is None:
        return [error("unknown-type", f"unknown layer type {node.type!r}", node_id)]
    return _port_diagnostics(graph, node_id, spec, wiring)


def graph_structure_diagnostics(graph: Graph, wiring: Wiring, reach: Reach | None = None) -> list[Diagnostic]:
    """The problems of the graph as a whole: no Input or Output, cycles, idle nodes
    (``reach``, when the caller keeps one up to date, saves searching the whole graph)."""
    reach = reach or compute_reach(graph, wiring)
    found: list[Diagnostic] = []
    for nodes, name in ((reach.inputs, "Input"), (reach.outputs, "Output")):
        if not nodes:
            found.append(error(f"no-{name.lower()}", f"the graph has no {name} node"))
    found += _cycle_diagnostics(wiring.cycles)
    found += _off_path_warnings(graph, reach)
    return found


#: cycles named one by one, and nodes off every path warned of one by one; the rest are counted
SHOWN_CYCLES = 20
SHOWN_IDLE = 50


def _cycle_diagnostics(cycles: list[list[str]]) -> list[Diagnostic]:
    found = []
    for cycle in cycles[:SHOWN_CYCLES]:
        path = " → ".join(cycle + cycle[:1])
        found.append(error("cycle", f"cycle: {path}; data cannot flow in a loop", *cycle))
    if len(cycles) > SHOWN_CYCLES:
        rest = cycles[SHOWN_CYCLES:]
        found.append(error("cycle", f"and {len(rest)} more cycles", *[n for c in rest for n in c]))
    return found


def port_ranges(ports: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1–3, 7``: a list of port numbers that stays short."""
    spans: list[list[int]] = []
    for port in sorted(ports):
        if spans and port == spans[-1][1] + 1:
            spans[-1][1] = port
        else:
            spans.append([port, port])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _port_diagnostics(graph: Graph, node_id: str, spec, wiring: Wiring) -> list[Diagnostic]:
    found = []
    ports = wiring.port_sources(node_id)
    minimum, maximum = spec.inputs
    for port, feeds in sorted(ports.items()):
        names = ", ".join(_feed_text(f) for f in feeds)
        if maximum is not None and port >= maximum:
            what = "takes no inputs" if maximum == 0 else f"has no input port {port}"
            found.append(error("no-such-port", f"{spec.type} {what} (edge from {names})", node_id))
        elif len(feeds) > 1:
            found.append(error("crowded-port", f"{spec.input_name(port)} has {len(feeds)} connections "
                                               f"(from {names}); keep one", node_id))
        for feed in feeds:
            found += _source_port_problems(graph, node_id, feed)
    needed = max([minimum - 1, *[p for p in ports if maximum is None or p < maximum]], default=-1)
    optional = {i for i, p in enumerate(spec.input_ports or ()) if p.optional}
    missing = [p for p in _absent(ports, needed + 1) if p not in optional]
    if len(missing) == 1:
        found.append(error("unconnected", f"{spec.input_name(missing[0])} is not connected", node_id))
    elif missing:
        found.append(error("unconnected", f"input ports {port_ranges(missing)} are not connected", node_id))
    if not spec.has_output:
        for target in wiring.successors_of(node_id):
            found.append(error("no-output", f"{spec.type} has no output port (edge to {target})",
                               node_id))
    return found


def _absent(ports: dict[int, list], count: int) -> list[int]:
    """Port numbers below ``count`` with nothing connected (``count`` is at most MAX_PORT)."""
    return [port for port in range(count) if port not in ports]


def _feed_text(feed) -> str:
    return feed.node if feed.port == 0 else f"{feed.node}.{feed.port}"


def _source_port_problems(graph: Graph, node_id: str, feed) -> list[Diagnostic]:
    """An edge leaving an output its source does not have (with its params: a Chunk of 3
    has outputs 0–2 of the 8 it declares)."""
    source = get_spec(graph.nodes[feed.node].type)  # by type: the wiring is pickled, specs cannot be
    if source is None:
        return []
    outputs = source.outputs_for(graph.nodes[feed.node].params)
    if feed.port < len(outputs):
        return []
    have = ", ".join(f"{i} ({p.name})" for i, p in enumerate(outputs)) or "none"
    return [error("no-such-output", f"{feed.node} ({source.type}) has no output port {feed.port}; "
                                    f"its outputs: {have}", node_id)]


def _off_path_warnings(graph: Graph, reach: Reach) -> list[Diagnostic]:
    """Nodes that no Input reaches or that reach no Output do nothing in the network."""
    if not reach.inputs or not reach.outputs:
        return []
    idle = reach.idle(graph)
    found = [warning("off-path", "not on any path from the Input to the Output", n) for n in idle[:SHOWN_IDLE]]
    if len(idle) > SHOWN_IDLE:
        found.append(warning("off-path", f"and {len(idle) - SHOWN_IDLE} more nodes on no path from an Input "
                                         "to an Output", *idle[SHOWN_IDLE:]))
    return found
