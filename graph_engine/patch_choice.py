"""Which layers can show their top patches: outputs that are feature maps with a 2-d
receptive field. Read from the analysis alone, so the editor lists them after every edit
without loading torch (the patches themselves are in ``graph_engine.probes.patches``)."""

from __future__ import annotations

from graph_engine.analysis import Analysis
from graph_engine.model import Graph
from graph_engine.registry import get_spec


def patch_candidates(graph: Graph, analysis: Analysis) -> list[tuple[str, str]]:
    """(node id, label) of every node whose top patches can be shown: (C, H, W) output with a
    2-d receptive field, in topological order; convolutions first within that order."""
    analysis = analysis.compiled()  # with blocks: the layers inside them, by path
    found = [patch_candidate(analysis, node_id) for node_id in analysis.order]
    return [entry for entry in found if entry is not None]


def patch_candidate(analysis: Analysis, node_id: str) -> tuple[str, str] | None:
    """(node id, label) when ``node_id`` (of the compiled graph) can show top patches."""
    info = analysis.info(node_id)
    node = analysis.graph.nodes.get(node_id)
    if node is None or info is None or info.out_shape is None or len(info.out_shape) != 3:
        return None
    if info.field is None or len(info.field) != 2 or get_spec(node.type).role == "input":
        return None
    shape = "×".join(str(v) for v in info.out_shape)
    return node_id, f"{node_id} — {node.type} {shape}"


__all__ = ["patch_candidate", "patch_candidates"]
