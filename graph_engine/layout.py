"""Auto-layout: left-to-right layers from the topological order.

Each node's column is its longest distance from a source, so data always flows to
the right; within a column nodes keep their order of appearance. Cycles (which
validation reports) are laid out after the rest instead of failing.
"""

from __future__ import annotations

import math

from graph_engine.model import Graph, Position
from graph_engine.traversal import wire

COLUMN_WIDTH = 240.0
ROW_HEIGHT = 150.0


def layered_layout(graph: Graph, column_width: float = COLUMN_WIDTH,
                   row_height: float = ROW_HEIGHT, wrap: int | str | None = "auto") -> dict[str, Position]:
    """New positions for every node: columns by depth, rows centred on the main row.

    ``wrap`` continues a long network on a new band below every ``wrap`` columns, like
    lines of text, so a deep chain still fits a screen; "auto" picks a width that makes
    the layout about as wide as a screen is, None never wraps."""
    wiring = wire(graph)
    depth: dict[str, int] = {}
    for node_id in wiring.order:
        sources = [feed.node for feeds in wiring.port_sources(node_id).values() for feed in feeds]
        depth[node_id] = 1 + max((depth[s] for s in sources if s in depth), default=-1)
    last = max(depth.values(), default=-1)
    for node_id in graph.nodes:  # nodes on or behind a cycle
        if node_id not in depth:
            last += 1
            depth[node_id] = last
    columns: dict[int, list[str]] = {}
    for node_id in graph.nodes:
        columns.setdefault(depth[node_id], []).append(node_id)
    if wrap == "auto":
        count = len(columns)
        wrap = None if count <= 8 else max(6, round(math.sqrt(count * 2.5)))
    band_height = (max((len(m) for m in columns.values()), default=1) + 0.6) * row_height
    positions: dict[str, Position] = {}
    for column, members in columns.items():
        band, place = divmod(column, wrap) if wrap else (0, column)
        top = -(len(members) - 1) / 2.0
        for row, node_id in enumerate(members):
            positions[node_id] = (place * column_width, band * band_height + (top + row) * row_height)
    return positions
