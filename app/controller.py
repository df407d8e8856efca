"""The one place where the views' intents become undo commands.

Views emit what a person asked for (connect these ports, move these nodes, set this
value); the controller checks it against the model, refuses what must be refused
with a message, and pushes one command per gesture onto the document's stack.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

import networkx as nx
from PySide6.QtCore import QObject, Signal

from app import commands
from app.clipboard import copy_nodes, paste_nodes
from app.document import Document
from graph_engine import Edge, GraphError, Node, analyze
from graph_engine.block_face import spec_of
from graph_engine.layout import layered_layout
from graph_engine.training.settings import TrainingSettings
from graph_engine.validation import Diagnostic

#: where a node added "after" another goes, relative to it
NEXT_OFFSET = (240.0, 0.0)
#: the room a node takes when looking for a free spot (a card and a margin)
CARD_SIZE = (200.0, 110.0)


def free_spot(graph, position: tuple[float, float], step: float = 150.0) -> tuple[float, float]:
    """``position``, or the first spot below it where a new node covers no other."""
    x, y = position
    taken = [n.position for n in graph if n.position is not None]
    while any(abs(px - x) < CARD_SIZE[0] and abs(py - y) < CARD_SIZE[1] for px, py in taken):
        y += step
    return (x, y)


class EditorController(QObject):
    """Intent handlers; each pushes at most one command."""

    #: a one-line message for the status bar
    message = Signal(str)
    #: nodes to highlight (a refused cycle), or [] to clear
    highlight = Signal(list)
    #: ask the views to select these nodes (after an add or paste)
    select = Signal(list)

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        #: the block definitions entered (app.block_scope.BlockNavigator), set by the window
        self.navigator = None

    @property
    def scope(self):
        """The block definition being edited (app.block_scope.BlockScope), or None."""
        return self.navigator.scope if self.navigator is not None else None

    @property
    def graph(self):
        """What the gestures edit: the document's graph, or the entered block's definition."""
        scope = self.scope
        return scope.graph if scope is not None else self.document.graph

    @property
    def analysis(self):
        scope = self.scope
        return scope.analysis(self.document.analysis) if scope is not None else self.document.analysis

    def _push(self, command) -> bool:
        """Push one gesture's command; an edit the graph refuses is a message, not an error.
        Inside a block, the command becomes one edit of the definition (every use follows)."""
        self.highlight.emit([])
        scope = self.scope
        if scope is not None and isinstance(command, commands.EditCommand):
            command = scope.wrap(command)
        try:
            self.document.push(command)
        except GraphError as error:
            self.message.emit(str(error))
            return False
        return True

    # -- nodes ----------------------------------------------------------------------
    def add_layer(self, type_name: str, position: tuple[float, float] | None = None,
                  after: str | None = None, at_cursor: bool = False) -> str | None:
        """Add a node of ``type_name``; with ``after``, wire it in after that node: to its right
        (or at ``position`` when ``at_cursor``), taking over what the node's output fed, the
        nodes downstream moved right to make room."""
        spec = spec_of(self.graph, type_name)
        if spec is None:
            self.message.emit(f"Unknown layer type {type_name!r}")
            return None
        node_id = self.graph.unique_id(type_name)
        params = self._default_params(type_name)
        if after is not None and after in self.graph:
            anchor = self.graph.node(after)
            anchor_spec = spec_of(self.graph, anchor.type)
            wire = (anchor_spec is None or anchor_spec.has_output) and (spec.inputs[1] is None or spec.inputs[1] > 0)
            x, y = anchor.position or (0.0, 0.0)
            shift = {}
            if position is None or not at_cursor:
                position = (x + NEXT_OFFSET[0], y + NEXT_OFFSET[1])
                if wire and self._feeds(after):
                    shift = self._room_after(after, x)
                else:
                    position = free_spot(self.graph, position)
            node = Node(node_id, type_name, params, position)
            self._push(commands.insert_after(self.graph, after, node, wire, shift))
        else:
            node = Node(node_id, type_name, params, position or free_spot(self.graph, (0.0, 0.0)))
            self._push(commands.add_nodes(self.graph, [node], [], f"Add {type_name}"))
        self.select.emit([node_id])
        return node_id

    def _default_params(self, type_name: str) -> dict[str, Any]:
        """A block use starts with its block params' defaults; a layer with none set."""
        return self.graph.blocks[type_name].resolve({}) if type_name in self.graph.blocks else {}

    def _feeds(self, node_id: str) -> bool:
        return any(e.source == node_id and e.source_port == 0 for e in self.graph.edges)

    def _room_after(self, node_id: str, x: float) -> dict[str, tuple[float, float]]:
        """New positions for the nodes downstream of ``node_id`` standing right of it: one
        column further right."""
        digraph = nx.DiGraph([(e.source, e.target) for e in self.graph.edges])
        moved = {}
        for other in nx.descendants(digraph, node_id):
            px, py = self.graph.node(other).position or (0.0, 0.0)
            if px > x:
                moved[other] = (px + NEXT_OFFSET[0], py)
        return moved

    def move_nodes(self, moves: Mapping[str, tuple[tuple[float, float], tuple[float, float]]]) -> None:
        """One drag of one or more nodes: one undo step."""
        targets = {n: new for n, (old, new) in moves.items() if n in self.graph and tuple(old) != tuple(new)}
        if targets:
            self._push(commands.move(self.graph, targets))

    def delete(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        node_ids = [n for n in node_ids if n in self.graph]
        edges = [e for e in edges if e in self.graph.edges]
        if node_ids or edges:
            self._push(commands.remove(self.graph, node_ids, edges))

    def edit_params(self, node_id: str, changes: Mapping[str, Any], continuing: bool = False) -> bool:
        """Apply a parameter edit; a refused value is reported and nothing changes."""
        try:
            command = commands.set_params(self.graph, node_id, changes, continuing)
        except GraphError as error:
            self.message.emit(str(error))
            return False
        return self._push(command)

    def edit_training(self, changes: Mapping[str, Any], continuing: bool = False) -> bool:
        """Change the graph's training settings (undoable); a refused value is reported."""
        current = {**TrainingSettings().to_dict(), **self.graph.training}
        if all(current.get(k) == v for k, v in changes.items()):
            return True  # e.g. leaving a field untouched: no undo step, no modified mark
        try:
            command = commands.set_training(self.graph, changes, continuing)
        except GraphError as error:
            self.message.emit(str(error))
            return False
        return self._push(command)

    def rename_graph(self, name: str) -> bool:
        name = " ".join(name.split())
        if not name or name == self.graph.name:
            return False
        return self._push(commands.set_name(self.graph, name))

    def set_label(self, node_id: str, label: str) -> None:
        if node_id in self.graph and (self.graph.node(node_id).label or "") != label:
            self._push(commands.set_label(self.graph, node_id, label))

    # -- edges ----------------------------------------------------------------------
    def connect_ports(self, source: str, target: str, port: int, source_port: int = 0) -> bool:
        """Connect, unless it would close a cycle (refused, the cycle highlighted and named)."""
        graph = self.graph
        if source not in graph or target not in graph:
            return False
        digraph = nx.DiGraph([(e.source, e.target) for e in graph.edges])
        digraph.add_nodes_from(graph.nodes)
        if source == target or nx.has_path(digraph, target, source):
            cycle = [source] if source == target else nx.shortest_path(digraph, target, source)
            loop = " → ".join([*cycle, cycle[0]])
            self.highlight.emit(cycle)
            self.message.emit(f"Refused: connecting {source} → {target} would close the cycle {loop}")
            return False
        edge = Edge(source, target, port, source_port)
        if edge in graph.edges:
            return False
        occupied = [e for e in graph.edges if e.target == target and e.port == port]
        if occupied:  # dropping on a used port replaces its connection, in one step
            command = commands.remove(graph, [], occupied)
            command.edits.append(commands.AddEdge(edge))
            command.setText(f"Reconnect {target} input {port}")
            self._push(command)
        else:
            self._push(commands.connect(graph, edge))
        return True

    def reconnect(self, old: Edge, new: Edge) -> bool:
        """An edge's end picked up and dropped on another input: one step (refused like a
        connection that would close a cycle)."""
        if old not in self.graph.edges:
            return False
        occupied = [e for e in self.graph.edges if e.target == new.target and e.port == new.port and e != old]
        if self._closes_cycle(new.source, new.target, ignore=old):
            return False
        command = commands.remove(self.graph, [], [old, *occupied])
        command.edits.append(commands.AddEdge(new))
        command.setText(f"Reconnect {new.source} → {new.target}")
        return self._push(command)

    def _closes_cycle(self, source: str, target: str, ignore: Edge | None = None) -> bool:
        digraph = nx.DiGraph([(e.source, e.target) for e in self.graph.edges if e != ignore])
        digraph.add_nodes_from(self.graph.nodes)
        if source != target and not nx.has_path(digraph, target, source):
            return False
        cycle = [source] if source == target else nx.shortest_path(digraph, target, source)
        self.highlight.emit(cycle)
        self.message.emit(f"Refused: connecting {source} → {target} would close the cycle "
                          f"{' → '.join([*cycle, cycle[0]])}")
        return True

    # -- structure: insert, bridge, rename, neighbours --------------------------------
    def insert_layer(self, type_name: str, edge: Edge, position: tuple[float, float] | None = None) -> str | None:
        """A new layer (or block use) on ``edge``, at ``position`` (dropped), else half-way along."""
        if spec_of(self.graph, type_name) is None or edge not in self.graph.edges:
            return None
        if position is None:
            (sx, sy), (tx, ty) = (self.graph.node(n).position or (0.0, 0.0) for n in (edge.source, edge.target))
            position = ((sx + tx) / 2, (sy + ty) / 2 + 90.0)
        node = Node(self.graph.unique_id(type_name), type_name, self._default_params(type_name), tuple(position))
        if self._push(commands.insert_on_edge(self.graph, edge, node)):
            self.select.emit([node.id])
            return node.id
        return None

    def insert_before(self, type_name: str, node_id: str, port: int = 0) -> str | None:
        feeds = [e for e in self.graph.in_edges(node_id) if e.port == port]
        if feeds:
            return self.insert_layer(type_name, feeds[0])
        x, y = self.graph.node(node_id).position or (0.0, 0.0)
        node = Node(self.graph.unique_id(type_name), type_name, {}, free_spot(self.graph, (x - NEXT_OFFSET[0], y)))
        if self._push(commands.add_nodes(self.graph, [node], [Edge(node.id, node_id, port)], f"Add {type_name}")):
            self.select.emit([node.id])
            return node.id
        return None

    def drop_on_edge(self, node_id: str, edge: Edge, position: tuple[float, float]) -> bool:
        """A free node dragged onto an edge: moved there and inserted, one step."""
        if node_id not in self.graph or edge not in self.graph.edges:
            return False
        node = replace(self.graph.node(node_id), position=(float(position[0]), float(position[1])))
        return self._push(commands.insert_on_edge(self.graph, edge, node, existing=True))

    def delete_and_bridge(self, node_id: str) -> bool:
        """Delete a node and connect what fed it to what it fed, when the shapes still fit
        (otherwise delete it alone, and say why)."""
        if node_id not in self.graph:
            return False
        bridges = commands.bridged_edges(self.graph, node_id)
        if bridges and not self._bridge_fits(node_id, bridges):
            self.message.emit(f"Deleted {node_id} without a bridge: the shapes on either side differ")
            bridges = []
        return self._push(commands.delete_and_bridge(self.graph, node_id, bridges))

    def _bridge_fits(self, node_id: str, bridges: list[Edge]) -> bool:
        """Tried on a copy of the document (inside a block: the edit of its definition), unless
        the node passes on what it receives unchanged in shape and type: then what the nodes
        after it receive stays the same, and no new problem can come (no copy of a big graph)."""
        if self._passes_shapes_through(node_id, bridges):
            return True
        command = commands.delete_and_bridge(self.graph, node_id, bridges)
        if self.scope is not None:
            command = self.scope.wrap(command)
        trial = self.document.graph.copy()
        before = {d.message for d in analyze(trial).errors}
        commands.apply_all(trial, command.edits)
        return {d.message for d in analyze(trial).errors} <= before

    def _passes_shapes_through(self, node_id: str, bridges: list[Edge]) -> bool:
        if self.scope is not None:
            return False
        analysis = self.document.analysis
        info = analysis.info(node_id)
        if info.out_shapes is None or len(info.out_shapes) != 1:
            return False
        return all(analysis.info(b.source).port_shape(b.source_port) == info.out_shape
                   and analysis.info(b.source).dtype == info.dtype for b in bridges)

    def rename(self, node_id: str, text: str, as_id: bool = False) -> bool:
        """Rename in place: a node with a label gets a new label; one without gets a new id when
        ``text`` can be one (or ``as_id``), else a label."""
        text = text.strip()
        if node_id not in self.graph or not text:
            return False
        node = self.graph.node(node_id)
        if as_id or (node.label is None and text.isidentifier()):
            if text == node_id:
                return False
            try:
                command = commands.rename_node(self.graph, node_id, text)
            except GraphError as error:
                self.message.emit(f"Cannot rename {node_id}: {error}")
                return False
            if self._push(command):
                self.select.emit([text])
                return True
            return False
        self.set_label(node_id, text)
        return True

    def disconnect_node(self, node_id: str) -> None:
        edges = [e for e in self.graph.edges if node_id in (e.source, e.target)]
        if edges:
            self._push(commands.remove(self.graph, [], edges))

    def neighbours(self, node_id: str, downstream: bool) -> list[str]:
        """The node and everything upstream (or downstream) of it."""
        digraph = nx.DiGraph([(e.source, e.target) for e in self.graph.edges])
        digraph.add_nodes_from(self.graph.nodes)
        found = nx.descendants(digraph, node_id) if downstream else nx.ancestors(digraph, node_id)
        return [n for n in self.graph.nodes if n in found or n == node_id]

    # -- fixes, layout, clipboard ---------------------------------------------------
    def apply_fix(self, diagnostic: Diagnostic) -> None:
        fix = diagnostic.fix
        if fix is None or fix.node_id not in self.graph:
            return
        target = self.graph.node(fix.node_id)
        x, y = target.position or (0.0, 0.0)
        node = Node(self.graph.unique_id(fix.layer_type), fix.layer_type, dict(fix.params),
                    (x - 120.0, y + 90.0))
        self._push(commands.insert_on_input(self.graph, fix.node_id, fix.port, node))
        self.message.emit(f"{fix.label}: inserted {node.id}")

    # -- blocks ----------------------------------------------------------------------
    def make_block(self, node_ids: Iterable[str], name: str | None = None) -> str | None:
        """The selection becomes one use of a new block definition (one undo step)."""
        from graph_engine.blocks import BlockError, make_block

        ids = [n for n in node_ids if n in self.graph]
        name = name or self._free_block_name()
        shapes = {(node_id, port): shape for node_id, info in self.analysis.nodes.items()
                  for port, shape in enumerate(info.out_shapes or ())}
        try:
            rewrite = make_block(self.graph, ids, name, shapes)
        except BlockError as error:
            self.message.emit(str(error))
            return None
        if not self._push(commands.block_rewrite(self.graph, rewrite, f"Make block {name}")):
            return None
        use = rewrite.added_nodes[0].id
        self.select.emit([use])
        self.message.emit(f"Made block {name} of {len(ids)} nodes: {use} uses it")
        return use

    def explode_block(self, use_id: str) -> None:
        """Replace a block use by its layers (one undo step)."""
        from graph_engine.blocks import explode

        if use_id in self.graph and self.graph.node(use_id).type in self.graph.blocks:
            self._push(commands.block_rewrite(self.graph, explode(self.graph, use_id), f"Explode {use_id}"))

    def make_block_unique(self, use_id: str) -> None:
        """Give one use its own copy of the definition (one undo step)."""
        from graph_engine.blocks import make_unique

        if use_id in self.graph and self.graph.node(use_id).type in self.graph.blocks:
            self._push(commands.block_rewrite(self.graph, make_unique(self.graph, use_id), f"Make {use_id} unique"))

    def import_blocks(self, path: str, names: Iterable[str] | None = None) -> list[str]:
        """Block definitions from another graph file (all of them by default), with the blocks
        they use, in one undo step; a clash of names gets the copy a fresh name."""
        imported = self._imported(path, names)
        if imported is None:
            return []
        added, renamed = imported
        if not added:
            self.message.emit(f"The blocks of {path} are already here")
            return []
        edits = [commands.SetBlock(d.name, d) for d in added]
        self._push(commands.EditCommand(self.graph, f"Import blocks from {path}", edits))
        self.message.emit(f"Imported block{'s' if len(added) > 1 else ''} {', '.join(d.name for d in added)}")
        return [d.name for d in added]

    def add_block_from(self, path: str, name: str, position: tuple[float, float] | None = None) -> str | None:
        """A use of block ``name`` of library file ``path``: its definition imported (if not here
        yet) and the use added, in one undo step."""
        imported = self._imported(path, [name])
        if imported is None:
            return None
        added, renamed = imported
        type_name = renamed[name]
        definition = next((d for d in added if d.name == type_name), None) or self.document.graph.blocks[type_name]
        node = Node(self.graph.unique_id(type_name), type_name, definition.resolve({}),
                    position or free_spot(self.graph, (0.0, 0.0)))
        edits = [commands.SetBlock(d.name, d) for d in added] + [commands.AddNode(node)]
        if self._push(commands.EditCommand(self.graph, f"Add {type_name} from {path}", edits)):
            self.select.emit([node.id])
            return node.id
        return None

    def _imported(self, path: str, names: Iterable[str] | None):
        from graph_engine import GraphFileError, load_graph
        from graph_engine.block_library import import_definitions
        from graph_engine.blocks import BlockError

        try:
            source = load_graph(path)
            return import_definitions(self.document.graph, source, list(source.blocks) if names is None else names)
        except (GraphFileError, BlockError) as error:
            self.message.emit(str(error))
            return None

    def _free_block_name(self) -> str:
        index = 1
        while f"Block{index}" in self.document.graph.blocks:
            index += 1
        return f"Block{index}"

    def auto_layout(self) -> None:
        """Lay out left to right; nothing to undo when every node is already in place."""
        moved = {n: p for n, p in layered_layout(self.graph).items() if self.graph.node(n).position != p}
        if moved:
            self._push(commands.move(self.graph, moved, "Auto-layout"))

    def copy(self, node_ids: Iterable[str]) -> str | None:
        ids = [n for n in node_ids if n in self.graph]
        return copy_nodes(self.graph, ids) if ids else None

    def paste(self, text: str, offset: tuple[float, float] | None = None) -> list[str]:
        try:
            nodes, edges = paste_nodes(self.graph, text, offset)
        except ValueError as error:
            self.message.emit(str(error))
            return []
        if not nodes:
            return []
        self._push(commands.add_nodes(self.graph, nodes, edges, f"Paste {len(nodes)} nodes"))
        ids = [n.id for n in nodes]
        self.select.emit(ids)
        return ids

    def duplicate(self, node_ids: Iterable[str]) -> list[str]:
        text = self.copy(node_ids)
        return self.paste(text) if text else []
