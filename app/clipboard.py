"""Copy and paste of sub-graphs: selected nodes with the edges between them.

The clipboard holds plain JSON (the file format's node and edge entries), so a copy
can be pasted into another window or document; pasting renames ids that are taken.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterable

from graph_engine.model import Edge, Graph, Node
from graph_engine.serialization import GraphFileError, graph_from_dict, graph_to_dict

MIME_TYPE = "application/x-rosenblatt-nodes"
#: a pasted copy stands this far below the lowest copied node's top (a card and a gap)
PASTE_GAP = 150.0


def copy_nodes(graph: Graph, node_ids: Iterable[str]) -> str:
    """JSON of the chosen nodes and the edges among them."""
    chosen = set(node_ids)
    part = Graph(graph.name)
    for node in graph:
        if node.id in chosen:
            part.add_node(node)
    for edge in graph.edges:
        if edge.source in chosen and edge.target in chosen:
            part.add_edge(edge)
    data = graph_to_dict(part)
    return json.dumps({"nodes": data["nodes"], "edges": data["edges"]}, ensure_ascii=False)


def paste_nodes(graph: Graph, text: str, offset: tuple[float, float] | None = None
                ) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges to add for a pasted copy: ``<id>_copy`` (``_copy2``, …) where an id is
    taken, a label marked as a copy, shifted by ``offset`` — by default just below the copied
    nodes, so a copy never lands on its original.

    Raises ValueError when the text is not a copy of nodes.
    """
    try:
        data: Any = json.loads(text)
        part = graph_from_dict({"format": "rosenblatt-graph", "version": 1, "name": "clipboard",
                                "nodes": data["nodes"], "edges": data["edges"]}, "clipboard")
    except (ValueError, KeyError, TypeError, GraphFileError) as error:
        raise ValueError(f"the clipboard holds no Rosenblatt nodes ({error})") from None
    if offset is None:
        ys = [n.position[1] for n in part if n.position is not None]
        offset = (0.0, (max(ys) - min(ys) if ys else 0.0) + PASTE_GAP)
    taken = set(graph.nodes)
    renamed: dict[str, str] = {}
    nodes = []
    for node in part:
        new_id, label = node.id, node.label
        if new_id in taken:
            new_id = f"{node.id}_copy"
            index = 2
            while new_id in taken:
                new_id = f"{node.id}_copy{index}"
                index += 1
            label = f"{label} (copy)" if label else None
        taken.add(new_id)
        renamed[node.id] = new_id
        x, y = node.position or (0.0, 0.0)
        nodes.append(replace(node, id=new_id, label=label, position=(x + offset[0], y + offset[1])))
    edges = [replace(e, source=renamed[e.source], target=renamed[e.target]) for e in part.edges]
    return nodes, edges
