"""What differs between two runs: the graph (types, params, nodes, wiring) and the settings.

Phrased as a person would say it: ``act1: ReLU → Tanh, fc1.out_features 128 → 64,
lr 1e-3 → 1e-2``. Positions, labels and the graph's name are not the network, and are
left out.
"""

from __future__ import annotations

import json
from typing import Any

from graph_engine.experiments.spec import SHORT_SETTINGS, format_number
from graph_engine.model import Graph

#: settings that do not change what is learnt (how often things are logged or saved)
QUIET_SETTINGS = frozenset({"probe_every", "probe_unit", "log_every", "checkpoint_every", "tensorboard",
                            "feature_map_nodes", "device"})


def show_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return "×".join(show_value(v) for v in value) if all(isinstance(v, int) for v in value) else json.dumps(value)
    return str(value)


def graph_changes(before: Graph, after: Graph) -> list[str]:
    """Node type and param changes, added and removed nodes, rewired edges."""
    changes: list[str] = []
    for node in before:
        if node.id not in after:
            changes.append(f"−{node.id} ({node.type})")
            continue
        other = after.node(node.id)
        if other.type != node.type:
            changes.append(f"{node.id}: {node.type} → {other.type}")
        for key in list(node.params) + [k for k in other.params if k not in node.params]:
            old, new = node.params.get(key), other.params.get(key)
            if old != new and key in node.params and key in other.params:
                changes.append(f"{node.id}.{key} {show_value(old)} → {show_value(new)}")
    changes += [f"+{node.id} ({node.type})" for node in after if node.id not in before]
    old_edges, new_edges = set(before.edges), set(after.edges)
    if old_edges != new_edges:
        wiring = [f"+{e.source}→{e.target}" for e in sorted(new_edges - old_edges)]
        wiring += [f"−{e.source}→{e.target}" for e in sorted(old_edges - new_edges)]
        shown = ", ".join(wiring[:4]) + (f" and {len(wiring) - 4} more" if len(wiring) > 4 else "")
        changes.append(f"wiring {shown}")
    return changes


def settings_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``lr 1e-3 → 1e-2``: settings that differ, leaving out those that change no result."""
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        if key in QUIET_SETTINGS or key not in before or key not in after:
            continue
        if before[key] != after[key]:
            changes.append(f"{SHORT_SETTINGS.get(key, key)} {show_value(before[key])} → {show_value(after[key])}")
    return changes


def run_changes(graph_a: Graph | None, settings_a: dict[str, Any], graph_b: Graph | None,
                settings_b: dict[str, Any]) -> list[str]:
    """Everything that differs from run A to run B (graph first, then settings)."""
    changes = graph_changes(graph_a, graph_b) if graph_a is not None and graph_b is not None else []
    return changes + settings_changes(settings_a, settings_b)


def describe_changes(changes: list[str], limit: int = 4) -> str:
    """One line: ``act1: ReLU → Tanh, lr 1e-3 → 1e-2``, or "same graph and settings"."""
    if not changes:
        return "same graph and settings"
    text = ", ".join(changes[:limit])
    return text + (f" and {len(changes) - limit} more" if len(changes) > limit else "")
