"""The texts a node shows: its key parameters, its parameter count, its problems."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from graph_engine import Severity

if TYPE_CHECKING:
    from graph_engine import Analysis, LayerSpec, Node


def format_param_value(value: object) -> str:
    """``[3, 5]`` -> ``3×5``, ``0.3`` -> ``0.3``, ``True`` -> ``True``; inside a block
    definition ``{"$param": "channels"}`` -> ``$channels`` (the use's value)."""
    if isinstance(value, dict) and set(value) == {"$param"}:
        return f"${value['$param']}"
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(node: "Node", spec: "LayerSpec | None", everything: bool = False) -> str:
    """The node face's parameter line, e.g. ``out_channels=6 kernel_size=5``.

    The first two key params are always shown; later ones only where they differ from
    the default; ``None`` values ("same as the kernel") never. ``everything`` lists every
    key param (for the tooltip).
    """
    if spec is None:
        return ""
    parts = []
    for index, name in enumerate(spec.key_params):
        if name not in node.params:
            continue
        value = node.params[name]
        if not everything:
            if value is None:
                continue
            try:
                default = spec.param(name).default
            except KeyError:
                default = object()
            if index >= 2 and value == default:
                continue
        parts.append(f"{name}={format_param_value(value)}")
    return " ".join(parts)


def field_size_text(field) -> str:
    """``RF 5×5``: a node's receptive field on the input, as a card shows it; empty without one."""
    if not field:
        return ""
    return "RF " + "×".join(str(int(a.size)) if float(a.size).is_integer() else f"{a.size:.3g}" for a in field)


def param_count_text(count: int) -> str:
    """``760`` -> ``760 params``; ``1234567`` -> ``1.23M params``; 0 -> empty."""
    if count <= 0:
        return ""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M params"
    return f"{count:,} params"


def node_problems(analysis: "Analysis") -> dict[str, tuple[Severity, list[str]]]:
    """By node id: the worst severity of its diagnostics and their distinct messages
    (errors first, then warnings; warnings alone when there is no error)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(
        lambda: {Severity.ERROR: [], Severity.WARNING: []})
    for diagnostic in analysis.diagnostics:
        for nid in diagnostic.node_ids:
            bucket = found[nid].get(diagnostic.severity)
            if bucket is not None and diagnostic.message not in bucket:
                bucket.append(diagnostic.message)
    problems = {}
    for nid, messages in found.items():
        errors, warnings = messages[Severity.ERROR], messages[Severity.WARNING]
        if errors:
            problems[nid] = (Severity.ERROR, errors + warnings)
        elif warnings:
            problems[nid] = (Severity.WARNING, warnings)
    return problems
