"""The graph model: nodes, edges and the mutators that emit events.

The model is the single source of truth for the editor: views draw what these
events say, and undo commands call one mutator and its inverse. Nodes and edges are
immutable values; a mutator replaces them, so an old value is a free undo record.
"""

from __future__ import annotations

import copy
import keyword
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from graph_engine.events import ListenerError, Signal
from graph_engine.module_names import MODULE_ATTRIBUTES
from graph_engine.params import ParamError, check_params
from graph_engine.registry import get_spec

Position = tuple[float, float]
_ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Names that would shadow torch.nn.Module attributes or generated-code names.
_RESERVED = frozenset({"self", "torch", "nn", "F"})


class GraphError(ValueError):
    """A mutation that would make the graph malformed (duplicate id, dangling edge...)."""


def check_node_id(node_id: Any) -> str:
    """Return ``node_id`` if it can name a module attribute and a Python local; raise otherwise.

    Ids become attribute and variable names in compiled and exported code, so only
    identifiers are allowed: this is what keeps a graph file from injecting code.
    """
    if not isinstance(node_id, str) or not _ID_PATTERN.match(node_id):
        raise GraphError(f"invalid node id {node_id!r}: use letters, digits and _, not starting "
                         "with a digit")
    if keyword.iskeyword(node_id):
        raise GraphError(f"invalid node id {node_id!r}: it is a Python keyword")
    if node_id in _RESERVED or node_id in MODULE_ATTRIBUTES:
        raise GraphError(f"invalid node id {node_id!r}: the name is reserved by torch.nn.Module "
                         "or the generated code")
    return node_id


def resolve_params(type_name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check values for a known type; keep an unknown type's params as given."""
    spec = get_spec(type_name)
    if spec is None:
        return dict(params or {})
    return check_params(spec.params, dict(params or {}))


def template_params(type_name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A block definition's node params: defaults filled in for a known type, the given
    values kept as they are (a value may refer to a block param; uses check them)."""
    given = dict(params or {})
    spec = get_spec(type_name)
    if spec is None:
        return given
    filled = {p.name: given.pop(p.name) if p.name in given else p.default for p in spec.params}
    return {**filled, **given}


@dataclass(frozen=True)
class Node:
    """One layer instance. ``params`` is complete (defaults filled in) for known types."""

    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    position: Position | None = None
    label: str | None = None
    #: keys of this node's file entry that the format does not define, kept for round trips
    extra: dict[str, Any] = field(default_factory=dict)


#: ports are numbered 0 .. MAX_PORT - 1: a file cannot make a pass loop over a huge number
MAX_PORT = 4096


@dataclass(frozen=True, order=True)
class Edge:
    """Data flows from output ``source_port`` of ``source`` into input ``port`` of ``target``."""

    source: str
    target: str
    port: int = 0
    source_port: int = 0


class Graph:
    """A network as a DAG of layer nodes. Mutate only through the methods below."""

    def __init__(self, name: str = "Untitled", path_ids: bool = False, template: bool = False):
        """``path_ids``: ids may be dotted paths (``layer1.conv2``), for a graph with its
        blocks expanded. ``template``: params are kept as given (a block definition's may
        refer to block params); they are checked when a use instantiates them."""
        self._name = name
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._edge_set: set[Edge] = set()  # for O(1) duplicate checks; the list keeps order
        self._training: dict[str, Any] = {}
        #: unknown top-level keys of the file, kept for round trips
        self.extra: dict[str, Any] = {}
        self._path_ids = path_ids
        self._template = template
        #: block definitions by name (the type their uses carry); see graph_engine.blocks
        self._blocks: dict[str, Any] = {}
        self.node_added = Signal("node_added")          # (node)
        self.node_removed = Signal("node_removed")      # (node)
        self.node_changed = Signal("node_changed")      # (old_node, new_node)
        self.edge_added = Signal("edge_added")          # (edge)
        self.edge_removed = Signal("edge_removed")      # (edge)
        self.name_changed = Signal("name_changed")      # (name)
        self.training_changed = Signal("training_changed")  # (training)
        self.blocks_changed = Signal("blocks_changed")      # (name)

    # -- reading ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def training(self) -> dict[str, Any]:
        """The trainer's settings section of the file, kept as given (a copy: use set_training)."""
        return dict(self._training)

    @property
    def is_template(self) -> bool:
        """A block definition's graph: its params may refer to block params."""
        return self._template

    def held(self) -> tuple[tuple[Node, ...], tuple[Edge, ...]] | None:
        """The node and edge objects the graph holds now, in order (None with block definitions,
        which change in place). Nodes and edges are immutable and an undo restores the very
        objects a command kept, so equal identities mean an equal network (AnalysisMemory)."""
        if self._blocks:
            return None
        return tuple(self._nodes.values()), tuple(self._edges)

    @property
    def blocks(self) -> dict[str, Any]:
        """Block definitions by name (a read-only view by convention: use set_block)."""
        return self._blocks

    @property
    def nodes(self) -> dict[str, Node]:
        """Nodes by id, in insertion order (a read-only view by convention)."""
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        return list(self._edges)

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r}") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def in_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self._edges if e.target == node_id]

    def unique_id(self, stem: str) -> str:
        """A fresh id like ``conv2d_3`` for a new node of type ``stem``."""
        base = re.sub(r"\W", "_", stem.lower()) or "node"
        if base[0].isdigit():
            base = "n_" + base
        index = 1
        while f"{base}_{index}" in self._nodes:
            index += 1
        return f"{base}_{index}"

    # -- mutating -----------------------------------------------------------------------
    def set_name(self, name: str) -> None:
        self._name = name
        self.name_changed.emit(name)

    def set_block(self, definition: Any) -> Any:
        """Add or replace a block definition (``graph_engine.blocks.BlockDefinition``);
        returns the one it replaced, or None, for undo."""
        previous = self._blocks.get(definition.name)
        self._blocks[definition.name] = definition
        self.blocks_changed.emit(definition.name)
        return previous

    def remove_block(self, name: str) -> Any:
        definition = self._blocks.pop(name)
        self.blocks_changed.emit(name)
        return definition

    def set_training(self, training: dict[str, Any]) -> dict[str, Any]:
        """Replace the training section; returns the previous one, for undo."""
        if not isinstance(training, dict):
            raise GraphError(f"the training section must be an object, not {type(training).__name__}")
        previous, self._training = self._training, dict(training)
        self.training_changed.emit(dict(self._training))
        return previous

    def add_node(self, node: Node, index: int | None = None) -> Node:
        """Insert ``node`` (its id must be free and valid; params are checked and completed).

        ``index`` puts it at that place in the node order (undo restores files exactly)."""
        if self._path_ids:
            for part in node.id.split("."):
                check_node_id(part)
        else:
            check_node_id(node.id)
        if node.id in self._nodes:
            raise GraphError(f"duplicate node id {node.id!r}")
        try:
            params = template_params(node.type, node.params) if self._template else resolve_params(node.type, node.params)
        except ParamError as error:
            raise GraphError(f"node {node.id!r} ({node.type}): {error}") from None
        node = replace(node, params=params)
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
        else:
            items = list(self._nodes.items())
            items.insert(index, (node.id, node))
            self._nodes = dict(items)
        self.node_added.emit(node)
        return node

    def node_index(self, node_id: str) -> int:
        return list(self._nodes).index(node_id)

    def edge_index(self, edge: Edge) -> int:
        return self._edges.index(edge)

    def create_node(self, type_name: str, params: dict[str, Any] | None = None,
                    position: Position | None = None, node_id: str | None = None) -> Node:
        """Add a node of ``type_name`` with a fresh id unless one is given."""
        return self.add_node(Node(node_id or self.unique_id(type_name), type_name, params or {},
                                  position))

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both so an undo can restore them."""
        node = self.node(node_id)
        removed = [e for e in self._edges if node_id in (e.source, e.target)]
        errors: list[BaseException] = []
        for edge in removed:
            try:
                self.remove_edge(edge)
            except ListenerError as error:  # the edge is gone; finish the removal first
                errors += error.errors
        del self._nodes[node_id]
        try:
            self.node_removed.emit(node)
        except ListenerError as error:
            errors += error.errors
        if errors:
            raise ListenerError("node_removed", errors) from errors[0]
        return node, removed

    def add_edge(self, edge: Edge, index: int | None = None) -> Edge:
        """Connect two existing nodes. Cycles and crowded ports are left to validation.

        ``index`` puts it at that place in the edge order (undo restores files exactly)."""
        for end in (edge.source, edge.target):
            if not isinstance(end, str) or end not in self._nodes:
                raise GraphError(f"edge {edge.source} -> {edge.target}: no node {end!r}")
        for name, value in (("port", edge.port), ("source_port", edge.source_port)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_PORT:
                raise GraphError(f"edge {edge.source} -> {edge.target}: {name} must be an integer "
                                 f"from 0 to {MAX_PORT - 1}")
        if edge in self._edge_set:
            raise GraphError(f"duplicate edge {edge.source} -> {edge.target} (port {edge.port})")
        if index is None:
            self._edges.append(edge)
        else:
            self._edges.insert(index, edge)
        self._edge_set.add(edge)
        self.edge_added.emit(edge)
        return edge

    def connect(self, source: str, target: str, port: int = 0, source_port: int = 0) -> Edge:
        return self.add_edge(Edge(source, target, port, source_port))

    def remove_edge(self, edge: Edge) -> None:
        if edge not in self._edge_set:
            raise GraphError(f"no edge {edge.source} -> {edge.target} (port {edge.port})")
        self._edges.remove(edge)
        self._edge_set.discard(edge)
        self.edge_removed.emit(edge)

    def _replace_node(self, new: Node) -> Node:
        old = self.node(new.id)
        self._nodes[new.id] = new
        self.node_changed.emit(old, new)
        return old

    def set_params(self, node_id: str, params: dict[str, Any]) -> Node:
        """Update some params (checked); returns the node as it was, for undo."""
        node = self.node(node_id)
        merged = {**node.params, **params}
        if self._template:  # a block definition's: checked when a use instantiates it
            return self._replace_node(replace(node, params=template_params(node.type, merged)))
        try:
            checked = resolve_params(node.type, merged)
        except ParamError as error:
            raise GraphError(f"node {node_id!r} ({node.type}): {error}") from None
        return self._replace_node(replace(node, params=checked))

    def move_node(self, node_id: str, position: Position) -> Node:
        return self._replace_node(replace(self.node(node_id), position=(float(position[0]),
                                                                          float(position[1]))))

    def set_label(self, node_id: str, label: str | None) -> Node:
        return self._replace_node(replace(self.node(node_id), label=label or None))

    def restore_node(self, node: Node) -> Node:
        """Put back a node value captured earlier (undo of set_params/move/label)."""
        return self._replace_node(node)

    # -- helpers ------------------------------------------------------------------------
    def copy(self) -> "Graph":
        """An independent graph with the same content and no listeners.

        Nodes and edges are immutable values and were checked when added, so they are
        shared as they are; only the mutable containers are new."""
        clone = Graph(self._name, self._path_ids, self._template)
        clone._nodes = {node_id: replace(node, params=copy.deepcopy(node.params),
                                         extra=copy.deepcopy(node.extra))
                        for node_id, node in self._nodes.items()}
        clone._edges = list(self._edges)
        clone._edge_set = set(self._edge_set)
        clone._training = copy.deepcopy(self._training)
        clone.extra = copy.deepcopy(self.extra)
        clone._blocks = dict(self._blocks)  # definitions are values: edits replace them
        return clone
