"""Diagnostics about a graph's structure: never raises on a bad graph.

Shape errors come from the analysis walk (``graph_engine.analysis``); this module
checks what needs no shapes: known types, one Input and one Output, cycles,
ports, and nodes off every Input→Output path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import networkx as nx

from graph_engine.model import Graph
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
    roles: dict[str, list[str]] = {"input": [], "output": []}
    for node in graph:
        spec = get_spec(node.type)
        if spec is None:
            found.append(error("unknown-type", f"unknown layer type {node.type!r}", node.id))
            continue
        if spec.role:
            roles[spec.role].append(node.id)
        port_problems = _port_diagnostics(node.id, spec, wiring)
        if port_problems:
            bad_ports.add(node.id)
            found += port_problems
    for role, name in (("input", "Input"), ("output", "Output")):
        if not roles[role]:
            found.append(error(f"no-{role}", f"the graph has no {name} node"))
        elif len(roles[role]) > 1:
            found.append(error(f"many-{role}s", f"a graph has exactly one {name}; found "
                                               f"{len(roles[role])}: {', '.join(roles[role])}",
                               *roles[role]))
    for cycle in wiring.cycles:
        path = " → ".join(cycle + cycle[:1])
        found.append(error("cycle", f"cycle: {path}; data cannot flow in a loop", *cycle))
    found += _off_path_warnings(graph, wiring, roles)
    return found, bad_ports


def _port_diagnostics(node_id: str, spec, wiring: Wiring) -> list[Diagnostic]:
    found = []
    ports = wiring.port_sources(node_id)
    minimum, maximum = spec.inputs
    for port, sources in sorted(ports.items()):
        if maximum is not None and port >= maximum:
            what = "takes no inputs" if maximum == 0 else f"has no input port {port}"
            found.append(error("no-such-port", f"{spec.type} {what} (edge from {sources[0]})", node_id))
        elif len(sources) > 1:
            found.append(error("crowded-port", f"input port {port} has {len(sources)} connections "
                                               f"(from {', '.join(sources)}); keep one", node_id))
    needed = max([minimum - 1, *[p for p in ports if maximum is None or p < maximum]], default=-1)
    for port in range(needed + 1):
        if port not in ports:
            found.append(error("unconnected", f"input port {port} is not connected", node_id))
    if not spec.has_output:
        for target in wiring.digraph.successors(node_id):
            found.append(error("no-output", f"{spec.type} has no output port (edge to {target})",
                               node_id))
    return found


def _off_path_warnings(graph: Graph, wiring: Wiring, roles: dict[str, list[str]]) -> list[Diagnostic]:
    """Nodes that no Input reaches or that reach no Output do nothing in the network."""
    if not roles["input"] or not roles["output"]:
        return []
    reached: set[str] = set()
    for node_id in roles["input"]:
        reached |= nx.descendants(wiring.digraph, node_id) | {node_id}
    useful: set[str] = set()
    for node_id in roles["output"]:
        useful |= nx.ancestors(wiring.digraph, node_id) | {node_id}
    return [warning("off-path", "not on any path from the Input to the Output", n)
            for n in graph.nodes if n not in reached or n not in useful]
