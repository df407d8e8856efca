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


def paste_nodes(graph: Graph, text: str, offset: tuple[float, float] = (40.0, 40.0)
                ) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges to add for a pasted copy: fresh ids where taken, shifted by ``offset``.

    Raises ValueError when the text is not a copy of nodes.
    """
    try:
        data: Any = json.loads(text)
        part = graph_from_dict({"format": "rosenblatt-graph", "version": 1, "name": "clipboard",
                                "nodes": data["nodes"], "edges": data["edges"]}, "clipboard")
    except (ValueError, KeyError, TypeError, GraphFileError) as error:
        raise ValueError(f"the clipboard holds no Rosenblatt nodes ({error})") from None
    taken = set(graph.nodes)
    renamed: dict[str, str] = {}
    nodes = []
    for node in part:
        new_id = node.id
        if new_id in taken:
            stem = node.id.rstrip("0123456789").rstrip("_") or "node"
            index = 2
            while f"{stem}_{index}" in taken:
                index += 1
            new_id = f"{stem}_{index}"
        taken.add(new_id)
        renamed[node.id] = new_id
        x, y = node.position or (0.0, 0.0)
        nodes.append(replace(node, id=new_id, position=(x + offset[0], y + offset[1])))
    edges = [replace(e, source=renamed[e.source], target=renamed[e.target]) for e in part.edges]
    return nodes, edges
